import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { Principal } from '../context/index.ts'
import { type AnyService, defineService, type Subscription } from '../contract/index.ts'
import { TesseraError } from '../errors/index.ts'
import type { Authenticator } from './auth.ts'

export interface SseOptions {
  /** Event names to stream; the gateway subscribes to each in broadcast mode. */
  events: string[]
  /**
   * `authenticated` (default): a token (`?token=` or `Authorization`) is required.
   * `public`: anyone may listen; a client that brings a token still gets only its own events.
   */
  auth?: 'public' | 'authenticated'
  /** Which events a client with a principal gets. Default: payloads whose `userId` is the principal's id. */
  filter?: (event: string, payload: unknown, principal: Principal) => boolean
  /** A comment line this often keeps proxies from closing idle streams (ms). Default 15 000. */
  heartbeatMs?: number
  /** Connections beyond this are refused with 503. Default 1 000. */
  maxClients?: number
  /** Name of the internal subscriber service. Default `gateway-events`. */
  serviceName?: string
}

interface Client {
  res: ServerResponse
  principal: Principal | undefined
  events: ReadonlySet<string> | undefined
}

/** A slow client's unsent backlog beyond this is cut off rather than buffered without bound. */
const MAX_BACKLOG = 1 << 20

/**
 * Fans events out to browsers over Server-Sent Events. The gateway's broker hosts
 * `service()`, a service with no actions that subscribes in broadcast mode to the
 * configured events, so every gateway instance receives every event; each event is
 * serialized once and written to the matching clients.
 *
 * @example
 * const hub = new SseHub({ events: ['order.placed'] })
 * await broker.addService(hub.service())
 * registerSse(app, hub, authenticator)
 * // browser: new EventSource('/events?token=…').addEventListener('order.placed', …)
 */
export class SseHub {
  readonly #options: SseOptions
  readonly #clients = new Set<Client>()
  readonly #filter: (event: string, payload: unknown, principal: Principal) => boolean
  readonly #heartbeat: NodeJS.Timeout
  #nextId = 1

  constructor(options: SseOptions) {
    this.#options = options
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

  /** Takes over `res` as an event stream until the client goes away or the hub closes. */
  attach(res: ServerResponse, headers: Record<string, string>, client: Omit<Client, 'res'>): void {
    if (this.#clients.size >= (this.#options.maxClients ?? 1000)) {
      throw new TesseraError('OVERLOADED', 'too many event stream clients')
    }
    const entry: Client = { ...client, res }
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.write('retry: 3000\n\n')
    this.#clients.add(entry)
    res.once('close', () => this.#clients.delete(entry))
  }

  close(): void {
    clearInterval(this.#heartbeat)
    for (const client of this.#clients) client.res.end()
    this.#clients.clear()
  }

  #writeAll(frame: string): void {
    for (const client of this.#clients) this.#write(client, frame)
  }

  #write(client: Client, frame: string): void {
    if (client.res.writableLength > MAX_BACKLOG) {
      this.#clients.delete(client)
      client.res.destroy()
      return
    }
    client.res.write(frame)
  }
}

function ownEvent(_event: string, payload: unknown, principal: Principal): boolean {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    (payload as { userId?: unknown }).userId === principal.id
  )
}

/**
 * `GET /events`: the event stream. Optional `?events=a,b` narrows the stream to some of
 * the configured events. Rejects (JSON error, before the stream starts) with 401 on a
 * missing or bad token where one is needed, 503 past `maxClients`.
 */
export function registerSse(app: FastifyInstance, hub: SseHub, auth: Authenticator): void {
  app.get<{ Querystring: { token?: string; events?: string } }>('/events', async (req, reply) => {
    const token = typeof req.query.token === 'string' ? `Bearer ${req.query.token}` : undefined
    const authorization = req.headers.authorization ?? token
    const principal =
      authorization !== undefined || hub.auth === 'authenticated'
        ? await auth.authenticate(authorization)
        : undefined
    const events =
      typeof req.query.events === 'string' ? new Set(req.query.events.split(',').filter(Boolean)) : undefined
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) headers[name] = String(value)
    }
    hub.attach(reply.raw, headers, { principal, events })
    reply.hijack()
  })
}
