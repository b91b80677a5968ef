import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Broker } from '../broker/index.ts'
import { newTrace, type Principal, parseTraceparent, type TraceContext } from '../context/index.ts'
import type { CallOptions } from '../contract/index.ts'
import { TesseraError } from '../errors/index.ts'
import type { Instrumentation } from '../observability/index.ts'
import type { Authenticator } from './auth.ts'
import type { RateLimiter } from './rate-limit.ts'
import { rememberTrace } from './request-log.ts'
import { createRouteRateLimits, type RouteRateLimits } from './route-rate-limits.ts'
import type { RouteTable } from './route-table.ts'
import type { StaticServer } from './static-files.ts'

export interface ActionHandlerDeps {
  broker: Broker
  table: RouteTable
  auth: Authenticator
  limiter: RateLimiter | undefined
  timeoutMs: number
  staticFiles: StaticServer | undefined
  /** The limits routes declare themselves (`http.rateLimit`); default: counters of this handler's own. */
  routeLimits?: RouteRateLimits
  /** Told of every routed request (its server span, its status); absent, nothing is called. */
  instrumentation?: Instrumentation | undefined
}

const JSON_TYPE = 'application/json; charset=utf-8'
const REQUEST_ID = /^[\w\-.:@/+=]{1,128}$/

/**
 * The one handler behind every action route: find the route, verify the token,
 * count against the gateway's rate limit and the route's own, assemble and validate the input — all before any call
 * is made — then call the action with the principal, trace headers, request id, a
 * deadline and a signal that aborts when the client goes away. Throws are answered by
 * the gateway's error handler (`toHttpError`).
 *
 * @example
 * app.route({ method: ['GET', 'POST'], url: '/*', handler: actionHandler(deps) })
 */
export function actionHandler(deps: ActionHandlerDeps) {
  const { broker, table, auth, limiter, timeoutMs, staticFiles } = deps
  const routeLimits = deps.routeLimits ?? createRouteRateLimits()
  return async function handleAction(
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> {
    const requestId = requestIdOf(req)
    reply.header('x-request-id', requestId)
    const url = req.url
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const match = table.lookup(req.method, path)
    if (!match) return noRoute(req, reply, path)
    const { route, params } = match
    const ins = deps.instrumentation
    const span = ins === undefined ? undefined : observeRequest(ins, req, reply, route.path, requestId)
    // The trace the call joins (the server span, else the client's, else a new one) is
    // fixed here, before any check, so the request's own log lines can name it.
    const trace = span ?? clientTrace(req) ?? newTrace()
    rememberTrace(req, trace.traceId)

    let principal: Principal | undefined
    if (route.auth === 'authenticated') principal = await auth.authenticate(req.headers.authorization)
    // `req.ip` goes through fastify's and the socket's getters (the first read on a
    // connection asks the kernel): read only where a limit counts it.
    if (limiter) limiter.take({ ip: req.ip, headers: req.headers, principal })
    if (route.rateLimit) routeLimits.take(route, { ip: req.ip, principal })

    const input = route.assemble(params, req.query as Record<string, unknown> | undefined, req.body)
    route.check?.(input)

    const options: CallOptions = { timeout: timeoutMs, signal: connectionSignal(req.raw.socket), requestId }
    if (principal) options.principal = principal
    // The request's server span (or the client's trace) parents the call; tracestate
    // travels with it. Passed as the object: a traceparent string would only be parsed back.
    options.trace = trace
    const output = await broker.call(route.service, route.action, input, options)
    if (output === undefined) return settled(reply.code(204).send())
    return settled(reply.header('content-type', JSON_TYPE).send(JSON.stringify(output)))
  }

  async function noRoute(req: FastifyRequest, reply: FastifyReply, path: string): Promise<FastifyReply> {
    const allowed = table.allowed(path)
    if (allowed.length > 0) {
      // 405 has no code of its own in the table: BAD_REQUEST with the status HTTP expects.
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send({
          error: {
            code: 'BAD_REQUEST',
            message: `method ${req.method} is not allowed on ${path}`,
            data: { allowed },
          },
        })
    }
    if (req.method === 'GET' && staticFiles && (await staticFiles(path, reply))) return reply
    throw new TesseraError('NOT_FOUND', `no route for ${req.method} ${path}`)
  }
}

/**
 * What the handler returns once it called `reply.send`: nothing when the answer is
 * already written (fastify then has nothing left to do), else the reply, which fastify
 * waits on. Returning a written reply would cost a thenable job per request: the
 * handler's promise would call `reply.then` only to learn it is done.
 */
function settled(reply: FastifyReply): FastifyReply | undefined {
  return reply.sent ? undefined : reply
}

/**
 * Tells the instrumentation a routed request started (it may open a server span, a
 * child of the client's `traceparent`) and, once the response is written, its status.
 */
function observeRequest(
  ins: Instrumentation,
  req: FastifyRequest,
  reply: FastifyReply,
  route: string,
  requestId: string,
): TraceContext | undefined {
  const started = performance.now()
  const header = req.headers.traceparent
  const state = req.headers.tracestate
  const parent =
    typeof header === 'string'
      ? parseTraceparent(header, typeof state === 'string' ? state : undefined)
      : undefined
  const span = ins.requestStarted?.(req.method, route, parent, requestId) as TraceContext | undefined
  if (ins.requestEnded) {
    const method = req.method
    reply.raw.once('finish', () =>
      ins.requestEnded?.(method, route, span, reply.raw.statusCode, performance.now() - started),
    )
  }
  return span
}

const CONTROLLER = Symbol('tessera.gateway.abort')
type TrackedSocket = Socket & { [CONTROLLER]?: AbortController }

/**
 * The signal of a client connection: it aborts when the connection closes, so the calls
 * of every request still waiting on it are cancelled. HTTP/1.1 answers on the
 * connection that asked, so "the client went away before the answer" is "the socket
 * closed while the call was in flight". One controller per connection, not per
 * request: creating an AbortController costs more than the rest of the gateway's own
 * work on a request; listeners come and go with the calls, so a signal that aborts after
 * its last answer reaches nobody.
 */
function connectionSignal(socket: TrackedSocket): AbortSignal {
  let controller = socket[CONTROLLER]
  if (!controller) {
    controller = new AbortController()
    // Pipelined requests on one connection may all be waiting: no leak warnings for them.
    setMaxListeners(0, controller.signal)
    socket[CONTROLLER] = controller
    if (socket.destroyed) controller.abort()
    else socket.once('close', abortOnClose)
  }
  return controller.signal
}

/** One shared listener (no closure per connection). */
function abortOnClose(this: TrackedSocket): void {
  this[CONTROLLER]?.abort()
}

/** The client's `traceparent` (with its `tracestate`), when there is a valid one. */
function clientTrace(req: FastifyRequest): TraceContext | undefined {
  const { traceparent, tracestate } = req.headers
  if (typeof traceparent !== 'string') return undefined
  return parseTraceparent(traceparent, typeof tracestate === 'string' ? tracestate : undefined)
}

/** The client's `x-request-id` when it looks sane, else a fresh one. */
export function requestIdOf(req: FastifyRequest): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}
