import type { Server } from 'node:http'
import { Server as NetServer } from 'node:net'
import cors from '@fastify/cors'
import Fastify, { type FastifyHttpOptions, type FastifyListenOptions } from 'fastify'
import type { Broker } from '../broker/index.ts'
import { type Instrumentation, type Logger, silentLogger } from '../observability/index.ts'
import { actionHandler, requestIdOf } from './action-handler.ts'
import { type AuthOptions, createAuthenticator } from './auth.ts'
import { type ConnectionTimeouts, resolveTimeouts } from './connection-timeouts.ts'
import { registerDocsPage } from './docs-page.ts'
import { registerHealth } from './health.ts'
import { toHttpError } from './http-error.ts'
import { type OpenApiInfo, registerOpenApi } from './openapi.ts'
import { createRateLimiter, type RateLimitOptions } from './rate-limit.ts'
import { decorateTraceIds, requestLogIds } from './request-log.ts'
import { type RouteInfo, RouteTable } from './route-table.ts'
import { SseHub, type SseOptions } from './sse.ts'
import { registerSse } from './sse-route.ts'
import { type StaticOptions, staticServer } from './static-files.ts'

export interface GatewayOptions {
  /** The broker calls go through; the gateway never builds one. Start it before or after. */
  broker: Broker
  host?: string
  /**
   * How long the route of a service whose last instance left stays routable (answering
   * 503 while it may come back, e.g. after a crash) before it answers 404. Default 60 000 ms.
   */
  routeGraceMs?: number
  /** 0 (default) picks a free port; read it back from `url`. */
  port?: number
  /**
   * Listen on a socket this process inherited instead of binding `host:port`, e.g. the
   * runtime's shared socket of a unit (`AdapterContext.listen`): `{ fd }`. Several
   * processes listening on one socket share its connections.
   */
  listen?: { fd: number }
  /** Bearer JWT verification for `authenticated` routes (the default). Without it, they answer 401. */
  auth?: AuthOptions
  /** Per-client limit on action calls; 429 with `Retry-After` past it. */
  rateLimit?: RateLimitOptions
  /** Origins allowed to call from a browser (exact matches). Without it, no CORS headers. */
  cors?: { origins: string[]; credentials?: boolean; maxAgeSec?: number }
  /** Largest accepted body in bytes; larger ones get 413. Default 1 MiB. */
  bodyLimit?: number
  /** Deadline of each call in ms. Default 10 000. */
  timeoutMs?: number
  /**
   * Bounds on slow and idle clients (ms, 0 = off): headers 10 000, whole request 30 000,
   * keep-alive idle 5 000, no bytes either way 60 000, checked every 1 000. Past one the
   * client gets 408 and the connection closes. Event streams are bound only by the idle
   * timeout, which their heartbeat keeps away. See {@link ConnectionTimeouts}.
   */
  connections?: ConnectionTimeouts
  /** Events streamed to browsers at `GET /events`. */
  sse?: SseOptions
  /** Serve the API reference page at `/docs`. Default true. `/openapi.json` is always served. */
  docs?: boolean
  /** `info` of the OpenAPI document. */
  openapi?: Partial<OpenApiInfo>
  logger?: Logger
  /** Told of every routed request (a tracer opens the request's server span); see `Instrumentation`. */
  instrumentation?: Instrumentation
  /** Files served for GETs that match no action route. */
  static?: StaticOptions
  /** Trust `X-Forwarded-*` from a proxy in front (fastify's `trustProxy`), so limits key on the real client IP. */
  trustProxy?: boolean | string | string[]
}

export interface Gateway extends AsyncDisposable {
  /** Where it listens, e.g. `http://127.0.0.1:53124`. */
  readonly url: string
  /** The action routes currently exposed. */
  routes(): RouteInfo[]
  /** Stops listening (open connections and event streams are closed), leaves the broker running. Idempotent. */
  close(): Promise<void>
  /**
   * Graceful close, for a restart or deploy where another process keeps serving the same
   * socket: stops accepting connections, ends event streams (browsers reconnect
   * elsewhere), answers every request that arrives on an open connection with
   * `Connection: close`, closes keep-alive connections still idle after `graceMs` (at
   * least 2 s), waits for requests in flight (in all at most `timeoutMs`, default
   * 10 000), then closes what is left.
   */
  drain(options?: { graceMs?: number; timeoutMs?: number }): Promise<void>
}

/** Paths the gateway answers itself; an announced route with one of these is skipped. */
const RESERVED = new Set(['/healthz', '/readyz', '/openapi.json', '/docs', '/docs/docs.js', '/events'])

/**
 * Starts the HTTP gateway: every action whose service announces an `http` route becomes
 * reachable over HTTP, live as services join and leave; nothing else is. Inputs are
 * coerced and validated against the announced schema before any call; errors map to
 * statuses through the error code table. Rejects if the port cannot be bound.
 *
 * @example
 * const broker = createBroker({ transport: socketTransport({ ... }) })
 * await broker.start()
 * await using gateway = await createGateway({
 *   broker,
 *   port: 8080,
 *   auth: { jwt: { secret: process.env.JWT_SECRET!, issuer: 'shop', audience: 'shop-api' } },
 *   rateLimit: { max: 100, windowMs: 60_000 },
 *   sse: { events: ['order.placed'] },
 * })
 * // GET {gateway.url}/users/1 -> users.get({ id: '1' })
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { broker } = options
  const logger = (options.logger ?? silentLogger).child({ component: 'gateway' })
  const table = new RouteTable(broker.registry, {
    logger,
    reserved: RESERVED,
    ...(options.routeGraceMs === undefined ? {} : { graceMs: options.routeGraceMs }),
  })
  const auth = createAuthenticator(options.auth)
  const limiter = options.rateLimit ? createRateLimiter(options.rateLimit) : undefined
  const timeoutMs = options.timeoutMs ?? 10_000
  const timeouts = resolveTimeouts(
    options.connections ?? {},
    { callTimeoutMs: timeoutMs, heartbeatMs: options.sse ? (options.sse.heartbeatMs ?? 15_000) : undefined },
    logger,
  )
  const hub = options.sse ? new SseHub(options.sse, logger) : undefined

  const serverOptions: FastifyHttpOptions<Server> = {
    logger: false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    forceCloseConnections: true,
    return503OnClosing: true,
    ...timeouts.server,
  }
  if (options.trustProxy !== undefined) serverOptions.trustProxy = options.trustProxy
  const app = Fastify(serverOptions)
  app.server.keepAliveTimeout = timeouts.keepAliveTimeoutMs
  decorateTraceIds(app)
  // JSON only: a text/plain body is a CORS "simple request" that skips the preflight.
  app.removeContentTypeParser('text/plain')

  app.setErrorHandler((err, req, reply) => {
    const answer = toHttpError(err)
    // Logged with the path only (a query may hold a secret), never a token, and with the
    // request and trace ids the client and the services' lines share.
    const path = req.url.split('?', 1)[0]
    if (answer.internal)
      logger.error(
        { ...requestLogIds(req, reply, () => requestIdOf(req)), err, method: req.method, path },
        'request failed',
      )
    else if (answer.status === 401 || answer.status === 403) {
      // Refusals are what an attack looks like from here.
      logger.warn(
        {
          ...requestLogIds(req, reply, () => requestIdOf(req)),
          method: req.method,
          path,
          ip: req.ip,
          code: answer.body.error.code,
          why: answer.body.error.message,
        },
        'request refused',
      )
    }
    if (!reply.hasHeader('x-request-id')) reply.header('x-request-id', requestIdOf(req))
    reply.code(answer.status).headers(answer.headers).send(answer.body)
  })
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route for ${req.method} ${req.url}` } })
  })

  let subscribed = false
  const setUp = async (): Promise<string> => {
    if (options.cors) {
      await app.register(cors, {
        origin: options.cors.origins,
        methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
        credentials: options.cors.credentials ?? false,
        maxAge: options.cors.maxAgeSec ?? 600,
        exposedHeaders: ['x-request-id', 'retry-after', 'www-authenticate'],
      })
    }

    registerHealth(app, () => table.routes().length)
    registerOpenApi(app, table, {
      title: options.openapi?.title ?? 'Tessera API',
      version: options.openapi?.version ?? '1.0.0',
      ...(options.openapi?.description ? { description: options.openapi.description } : {}),
    })
    if (options.docs ?? true) registerDocsPage(app)
    if (hub) {
      await broker.addService(hub.service())
      subscribed = true
      registerSse(app, hub, auth, logger)
    }

    app.route({
      method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      url: '/*',
      exposeHeadRoute: false,
      handler: actionHandler({
        broker,
        table,
        auth,
        limiter,
        timeoutMs,
        staticFiles: options.static ? staticServer(options.static) : undefined,
        instrumentation: options.instrumentation,
      }),
    })

    table.routes() // compile what is already announced before the first request arrives
    // fastify hands its options to node's `server.listen`, which takes `fd` before `port`;
    // its types just do not list it. A host other than `localhost` keeps it to one server.
    if (options.listen)
      return app.listen({ fd: options.listen.fd, host: '127.0.0.1' } as FastifyListenOptions)
    return app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 })
  }
  const release = async (): Promise<void> => {
    table.close()
    limiter?.close()
    hub?.close()
    await app.close()
    if (hub && subscribed) {
      try {
        await broker.removeService(hub.serviceName)
      } catch (err) {
        logger.debug({ err }, 'event subscriber already gone')
      }
    }
  }
  let address: string
  try {
    address = await setUp()
  } catch (err) {
    await release()
    throw err
  }
  logger.info({ url: address }, 'gateway listening')

  let closing: Promise<void> | undefined
  let draining: Promise<void> | undefined
  const drain = async (graceMs: number, timeoutMs: number): Promise<void> => {
    const server = app.server
    // No listener on the hot path until now: from here on every answer ends its connection.
    server.prependListener('request', (_req, res) => {
      if (!res.headersSent) res.setHeader('connection', 'close')
    })
    // net's close, not http's: that one would also drop idle keep-alive connections at
    // once, racing a client that is just sending its next request on one.
    const drained = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()))
    hub?.close()
    // A connection in use gets `Connection: close` with its next answer; one idle for the
    // whole grace is closed then. Closing idle ones at once would cross requests clients
    // are just sending on them (a busy client's connection is idle for microseconds).
    const wait = (ms: number) => {
      let timer: NodeJS.Timeout | undefined
      return Promise.race([drained, new Promise((r) => (timer = setTimeout(r, ms)))]).finally(() =>
        clearTimeout(timer),
      )
    }
    const idleGraceMs = Math.min(Math.max(graceMs, 2_000), timeoutMs)
    await wait(idleGraceMs)
    server.closeIdleConnections()
    await wait(timeoutMs - idleGraceMs)
    await gateway.close()
  }
  const gateway: Gateway = {
    url: address,
    routes: () =>
      table.routes().map((r) => {
        const info: RouteInfo = {
          method: r.method,
          path: r.path,
          service: r.service,
          action: r.action,
          auth: r.auth,
          idempotent: r.idempotent,
        }
        if (r.description !== undefined) info.description = r.description
        return info
      }),
    close() {
      closing ??= release()
      return closing
    },
    drain(opts = {}) {
      if (closing) return closing
      draining ??= drain(opts.graceMs ?? 300, opts.timeoutMs ?? 10_000)
      return draining
    },
    [Symbol.asyncDispose]: () => gateway.close(),
  }
  return gateway
}
