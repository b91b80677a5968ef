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
 * A fixed-window counter per client, kept in memory. Our own rather than
 * @fastify/rate-limit: it runs inside the gateway's one catch-all route *after* the
 * token is verified, so it can count per principal rather than per IP, and it only
 * counts action calls (health checks and docs are free). Expired windows are swept
 * once per window; the sweep timer never keeps the process alive.
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
  const windows = new Map<string, Window>()
  const sweep = setInterval(() => {
    const t = now()
    for (const [key, w] of windows) if (w.resetAt <= t) windows.delete(key)
  }, options.windowMs)
  sweep.unref()
  return {
    take(req) {
      const key = keyOf(req)
      const t = now()
      const w = windows.get(key)
      if (!w || w.resetAt <= t) {
        windows.set(key, { count: 1, resetAt: t + options.windowMs })
        return
      }
      if (w.count < options.max) {
        w.count++
        return
      }
      const retryAfterSec = Math.max(1, Math.ceil((w.resetAt - t) / 1000))
      throw new TesseraError('RATE_LIMITED', 'too many requests', { retryAfterSec })
    },
    close() {
      clearInterval(sweep)
      windows.clear()
    },
  }
}
