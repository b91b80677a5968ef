import type { IncomingHttpHeaders } from 'node:http'
import type { Principal } from '../context/index.ts'
import { TesseraError } from '../errors/index.ts'

/** What a rate-limit key function sees of a request. */
export interface RateLimitRequest {
  ip: string
  headers: IncomingHttpHeaders
  /** Set on authenticated routes, after the token verified. */
  principal: Principal | undefined
}

export interface RateLimitOptions {
  /** Requests allowed per client per window. */
  max: number
  windowMs: number
  /** The client a request counts against. Default: the principal's id, else the IP. */
  key?: (req: RateLimitRequest) => string
}

export interface RateLimiter {
  /** Counts one request; throws RATE_LIMITED (`data.retryAfterSec`) when over the limit. */
  take(req: RateLimitRequest): void
  close(): void
}

interface Window {
  count: number
  resetAt: number
}

/**
 * Fixed-window counters, one per key, in memory. Expired windows are swept lazily, at
 * most once per window, by the hit that finds the sweep due: no timer to clear, and a
 * map that holds at most the keys seen in the last window.
 */
export class FixedWindows {
  readonly #windows = new Map<string, Window>()
  readonly #max: number
  readonly #windowMs: number
  readonly #now: () => number
  #nextSweep: number

  constructor(max: number, windowMs: number, now: () => number) {
    this.#max = max
    this.#windowMs = windowMs
    this.#now = now
    this.#nextSweep = now() + windowMs
  }

  /** Counts one request for `key`: undefined when allowed, else the seconds until its window resets (at least 1). */
  hit(key: string): number | undefined {
    const t = this.#now()
    if (t >= this.#nextSweep) {
      for (const [k, w] of this.#windows) if (w.resetAt <= t) this.#windows.delete(k)
      this.#nextSweep = t + this.#windowMs
    }
    const w = this.#windows.get(key)
    if (!w || w.resetAt <= t) {
      this.#windows.set(key, { count: 1, resetAt: t + this.#windowMs })
      return undefined
    }
    if (w.count < this.#max) {
      w.count++
      return undefined
    }
    return Math.max(1, Math.ceil((w.resetAt - t) / 1000))
  }

  clear(): void {
    this.#windows.clear()
  }
}

/**
 * A fixed-window counter per client, kept in memory. Our own rather than
 * @fastify/rate-limit: it runs inside the gateway's one catch-all route *after* the
 * token is verified, so it can count per principal rather than per IP, and it only
 * counts action calls (health checks and docs are free).
 *
 * @example
 * const limiter = createRateLimiter({ max: 100, windowMs: 60_000 })
 * limiter.take({ ip: '10.0.0.1', headers: {}, principal: undefined }) // throws RATE_LIMITED past 100
 */
export function createRateLimiter(options: RateLimitOptions, now: () => number = Date.now): RateLimiter {
  if (!(options.max > 0) || !(options.windowMs > 0)) {
    throw new TypeError('rateLimit.max and rateLimit.windowMs must be positive')
  }
  const keyOf =
    options.key ?? ((req: RateLimitRequest) => (req.principal ? `p:${req.principal.id}` : `ip:${req.ip}`))
  const windows = new FixedWindows(options.max, options.windowMs, now)
  return {
    take(req) {
      const retryAfterSec = windows.hit(keyOf(req))
      if (retryAfterSec !== undefined) {
        throw new TesseraError('RATE_LIMITED', 'too many requests', { retryAfterSec })
      }
    },
    close() {
      windows.clear()
    },
  }
}
