import type { ServerResponse } from 'node:http'
import type { Principal } from '../context/index.ts'
import { type AnyService, defineService, type Subscription } from '../contract/index.ts'
import { TesseraError } from '../errors/index.ts'
import type { Logger } from '../observability/index.ts'
import { laterTimer } from './later-timer.ts'

export interface SseOptions {
  /** Event names to stream; the gateway subscribes to each in broadcast mode. */
  events: string[]
  /**
   * `authenticated` (default): `Authorization: Bearer <token>` is required.
   * `public`: anyone may listen; a client that brings a token still gets only its own events.
   * A token in the URL (`?token=`, `?access_token=`) is always refused with 400.
   */
  auth?: 'public' | 'authenticated'
  /** Which events a client with a principal gets. Default: payloads whose `userId` is the principal's id. */
  filter?: (event: string, payload: unknown, principal: Principal) => boolean
  /** A comment line this often keeps proxies from closing idle streams (ms). Default 15 000. */
  heartbeatMs?: number
  /** Streams on this gateway beyond this are refused with 503 OVERLOADED. Default 1 000. */
  maxClients?: number
  /**
   * Streams one principal (the token's `sub`) may hold open on this gateway; past it,
   * 429 RATE_LIMITED with `data.retryAfterSec` and `Retry-After`. Default 5 (a few tabs).
   */
  maxPerPrincipal?: number
  /** Streams one IP may hold without a token (`auth: 'public'` only); past it, 429. Default 20. */
  maxPerIp?: number
  /**
   * An event (e.g. the auth service's `session.revoked`) whose payload's `jti` names a
   * revoked token: the streams opened with it end at once (reason `revoked`). The
   * gateway subscribes to it in broadcast mode. Without it, only `recheckMs` notices a logout.
   */
  revocationEvent?: string
  /**
   * How often each stream's token is verified again, `isRevoked` included (ms, 0 = never).
   * Default 60 000. Events are delivered at most once, so a revocation event can be missed
   * (the gateway was reconnecting when it was sent): this bounds how long a logged-out
   * stream can outlive that. An auth outage does not end streams; it is logged.
   */
  recheckMs?: number
  /** Name of the internal subscriber service. Default `gateway-events`. */
  serviceName?: string
}

/** Why the gateway ended a stream: the `reason` of its last event, {@link STREAM_CLOSED}. */
export type StreamEndReason = 'expired' | 'revoked' | 'closing'

/**
 * The last event of a stream the gateway ends, `data: {"reason": …}`: `expired` (the
 * token's `exp` passed) and `revoked` (logged out) mean refresh the token before
 * reconnecting; `closing` (the gateway is shutting down) means reconnect now.
 */
export const STREAM_CLOSED = 'stream.closed'

/** What `registerSse` hands the hub about a new stream. */
export interface StreamClient {
  principal: Principal | undefined
  events: ReadonlySet<string> | undefined
  /** The client's address: the key of anonymous streams. */
  ip: string
  /** Verifies the stream's token again; rejects with UNAUTHORIZED once it is no longer valid. */
  verify?: () => Promise<unknown>
}

interface Client extends StreamClient {
  res: ServerResponse
  key: string
  jti: string | undefined
  /** When the token expires (ms since epoch), if it does. */
  expiresAt: number | undefined
  timers: { clear(): void }[]
  checking: boolean
}

/** A slow client's unsent backlog beyond this is cut off rather than buffered without bound. */
const MAX_BACKLOG = 1 << 20

/**
 * Fans events out to browsers over Server-Sent Events. The gateway's broker hosts
 * `service()`, a service with no actions that subscribes in broadcast mode to the
 * configured events, so every gateway instance receives every event; each event is
 * serialized once and written to the matching clients. A stream ends (with a
 * {@link STREAM_CLOSED} event) when its token expires, is revoked, or the hub closes.
 *
 * @example
 * const hub = new SseHub({ events: ['order.placed'], revocationEvent: 'session.revoked' }, logger)
 * await broker.addService(hub.service())
 * registerSse(app, hub, authenticator, logger)
 * // browser: fetch('/events', { headers: { authorization: `Bearer ${token}` } }), read the body as SSE
 */
export class SseHub {
  readonly #options: SseOptions
  readonly #logger: Logger
  readonly #clients = new Set<Client>()
  readonly #perKey = new Map<string, Set<Client>>()
  readonly #byJti = new Map<string, Set<Client>>()
  readonly #filter: (event: string, payload: unknown, principal: Principal) => boolean
  readonly #heartbeat: NodeJS.Timeout
  #nextId = 1

  constructor(options: SseOptions, logger: Logger) {
    if (options.events.includes(STREAM_CLOSED) || options.revocationEvent === STREAM_CLOSED) {
      throw new TypeError(`sse: "${STREAM_CLOSED}" is the gateway's own event and cannot be configured`)
    }
    for (const name of ['maxClients', 'maxPerPrincipal', 'maxPerIp'] as const) {
      const n = options[name]
      if (n !== undefined && !(Number.isInteger(n) && n > 0))
        throw new TypeError(`sse.${name} must be a positive integer`)
    }
    this.#options = options
    this.#logger = logger
    this.#filter = options.filter ?? ownEvent
    this.#heartbeat = setInterval(() => this.#writeAll(':\n\n'), options.heartbeatMs ?? 15_000)
    this.#heartbeat.unref()
  }

  get auth(): 'public' | 'authenticated' {
    return this.#options.auth ?? 'authenticated'
  }

  get clientCount(): number {
    return this.#clients.size
  }

  get serviceName(): string {
    return this.#options.serviceName ?? 'gateway-events'
  }

  /** The internal subscriber the gateway's broker hosts. */
  service(): AnyService {
    const on: Record<string, Subscription> = {}
    for (const event of this.#options.events) {
      on[event] = { mode: 'broadcast', handler: (payload) => this.publish(event, payload) }
    }
    const revocation = this.#options.revocationEvent
    if (revocation !== undefined) {
      const streamed = this.#options.events.includes(revocation)
      on[revocation] = {
        mode: 'broadcast',
        handler: (payload) => {
          const jti = (payload as { jti?: unknown } | null)?.jti
          if (typeof jti === 'string') this.revoke(jti)
          if (streamed) this.publish(revocation, payload)
        },
      }
    }
    return defineService({ name: this.serviceName, on, actions: () => ({}) })
  }

  /** Writes one event to every client that wants it. */
  publish(event: string, payload: unknown): void {
    if (this.#clients.size === 0) return
    const frame = `id: ${this.#nextId++}\nevent: ${event}\ndata: ${JSON.stringify(payload) ?? 'null'}\n\n`
    for (const client of this.#clients) {
      if (client.events && !client.events.has(event)) continue
      if (client.principal && !this.#filter(event, payload, client.principal)) continue
      this.#write(client, frame)
    }
  }

  /** Ends every stream opened with the token whose `jti` this is (logout). */
  revoke(jti: string): void {
    const clients = this.#byJti.get(jti)
    if (!clients) return
    for (const client of [...clients]) this.#end(client, 'revoked')
  }

  /**
   * Takes over `res` as an event stream until the client goes away, its token expires
   * or is revoked, or the hub closes; does nothing when the client is already gone. Throws (before anything is written) RATE_LIMITED
   * past the principal's (or anonymous IP's) cap, OVERLOADED past `maxClients`.
   */
  attach(res: ServerResponse, headers: Record<string, string>, stream: StreamClient): void {
    // The client may have left while its token was checked: its 'close' already fired,
    // so it would never be removed and would hold a slot of its principal for good.
    if (res.destroyed || !res.socket || res.socket.destroyed) return
    const key = stream.principal ? `p:${stream.principal.id}` : `ip:${stream.ip}`
    const same = this.#perKey.get(key)
    const cap = stream.principal ? (this.#options.maxPerPrincipal ?? 5) : (this.#options.maxPerIp ?? 20)
    if (same && same.size >= cap) {
      throw new TesseraError('RATE_LIMITED', `at most ${cap} event streams at a time`, {
        retryAfterSec: retryAfterSec(same),
      })
    }
    if (this.#clients.size >= (this.#options.maxClients ?? 1000)) {
      throw new TesseraError('OVERLOADED', 'too many event stream clients')
    }
    const claims = stream.principal?.claims
    const client: Client = {
      ...stream,
      res,
      key,
      jti: typeof claims?.jti === 'string' ? claims.jti : undefined,
      expiresAt: typeof claims?.exp === 'number' ? claims.exp * 1000 : undefined,
      timers: [],
      checking: false,
    }
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.write('retry: 3000\n\n')
    this.#add(client)
    res.once('close', () => this.#remove(client))
    if (client.expiresAt !== undefined) {
      client.timers.push(laterTimer(client.expiresAt, () => this.#end(client, 'expired')))
    }
    const recheckMs = this.#options.recheckMs ?? 60_000
    if (client.verify && recheckMs > 0) {
      const timer = setInterval(() => void this.#recheck(client), recheckMs)
      timer.unref()
      client.timers.push({ clear: () => clearInterval(timer) })
    }
  }

  /** Ends every stream (reason `closing`: browsers reconnect, possibly to another instance). */
  close(): void {
    clearInterval(this.#heartbeat)
    for (const client of [...this.#clients]) this.#end(client, 'closing')
  }

  async #recheck(client: Client): Promise<void> {
    if (client.checking || !this.#clients.has(client)) return
    client.checking = true
    try {
      await client.verify?.()
    } catch (err) {
      if (err instanceof TesseraError && err.code === 'UNAUTHORIZED') {
        this.#end(
          client,
          client.expiresAt !== undefined && client.expiresAt <= Date.now() ? 'expired' : 'revoked',
        )
      } else {
        // Failing open for a stream already verified: ending them all would only turn an
        // auth outage into a reconnect storm against it. The next check tries again.
        this.#logger.warn({ err, principal: client.principal?.id }, 'event stream token re-check failed')
      }
    } finally {
      client.checking = false
    }
  }

  #end(client: Client, reason: StreamEndReason): void {
    if (!this.#clients.has(client)) return
    this.#remove(client)
    this.#logger.info({ reason, principal: client.principal?.id }, 'event stream ended')
    if (!client.res.destroyed)
      client.res.end(`event: ${STREAM_CLOSED}\ndata: ${JSON.stringify({ reason })}\n\n`)
  }

  #add(client: Client): void {
    this.#clients.add(client)
    indexAdd(this.#perKey, client.key, client)
    if (client.jti !== undefined) indexAdd(this.#byJti, client.jti, client)
  }

  #remove(client: Client): void {
    if (!this.#clients.delete(client)) return
    for (const timer of client.timers) timer.clear()
    indexDelete(this.#perKey, client.key, client)
    if (client.jti !== undefined) indexDelete(this.#byJti, client.jti, client)
  }

  #writeAll(frame: string): void {
    for (const client of this.#clients) this.#write(client, frame)
  }

  #write(client: Client, frame: string): void {
    if (client.res.writableLength > MAX_BACKLOG) {
      this.#remove(client)
      this.#logger.info({ principal: client.principal?.id }, 'event stream cut off: client not reading')
      client.res.destroy()
      return
    }
    client.res.write(frame)
  }
}

/**
 * When a slot surely frees: the soonest expiry among the key's streams (each ends at its
 * token's `exp`), between 1 and 60 s: a tab closing frees one sooner, so never much longer.
 */
function retryAfterSec(streams: ReadonlySet<Client>): number {
  let soonest = Number.POSITIVE_INFINITY
  for (const s of streams) if (s.expiresAt !== undefined) soonest = Math.min(soonest, s.expiresAt)
  const sec = Math.ceil((soonest - Date.now()) / 1000)
  return Math.min(60, Math.max(1, Number.isFinite(sec) ? sec : 60))
}

function indexAdd<K>(index: Map<K, Set<Client>>, key: K, client: Client): void {
  const set = index.get(key)
  if (set) set.add(client)
  else index.set(key, new Set([client]))
}

function indexDelete<K>(index: Map<K, Set<Client>>, key: K, client: Client): void {
  const set = index.get(key)
  if (!set) return
  set.delete(client)
  if (set.size === 0) index.delete(key)
}

function ownEvent(_event: string, payload: unknown, principal: Principal): boolean {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    (payload as { userId?: unknown }).userId === principal.id
  )
}
