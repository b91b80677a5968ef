import type { ServerOptions } from 'node:http'
import type { Socket } from 'node:net'
import type { Logger } from '../observability/index.ts'

/**
 * Bounds on slow or idle clients, so a client trickling bytes cannot hold a connection
 * (and its memory and file descriptor) for minutes. Every value is in ms; 0 turns that
 * bound off. A refused connection gets 408 and is closed, and is logged.
 */
export interface ConnectionTimeouts {
  /** Time from a connection's (or a request's) first byte to the end of its headers. Default 10 000. At most `requestTimeoutMs`. */
  headersTimeoutMs?: number
  /**
   * Time to receive a whole request, headers and body. Default 30 000 (a 1 MiB body at
   * ~35 KB/s). It ends once the request is received: answers, event streams included,
   * are not bound by it.
   */
  requestTimeoutMs?: number
  /** How long a keep-alive connection may sit idle between requests. Default 5 000; behind a load balancer, set it above the balancer's idle timeout. */
  keepAliveTimeoutMs?: number
  /**
   * A connection with no bytes in either direction for this long is closed, mid-answer
   * too (a client that stops reading). Default 60 000, or twice the call timeout if
   * that is longer; it must exceed the call timeout and the event stream's heartbeat.
   */
  idleTimeoutMs?: number
  /**
   * How often Node looks for connections past `headersTimeoutMs` / `requestTimeoutMs`:
   * those bounds are only enforced at these checks. Default 1 000 (Node's own is 30 000).
   */
  checkIntervalMs?: number
}

/** The part of fastify's options (`FastifyHttpOptions`) these bounds set. */
interface ServerTimeoutOptions {
  http: ServerOptions
  requestTimeout: number
  connectionTimeout: number
  clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => void
}

export interface ResolvedTimeouts {
  /** What goes into fastify's options. */
  server: ServerTimeoutOptions
  /** Set on `app.server` after it is built: fastify reads 0 as "its default" (72 s) here. */
  keepAliveTimeoutMs: number
}

/**
 * The server options for `timeouts`, checked against each other. Throws a TypeError for
 * values that cannot work: negative ones, headers allowed longer than the whole request,
 * an idle bound that would cut calls (`callTimeoutMs`) or event streams between
 * heartbeats (`heartbeatMs`) short.
 */
export function resolveTimeouts(
  timeouts: ConnectionTimeouts,
  context: { callTimeoutMs: number; heartbeatMs: number | undefined },
  logger: Logger,
): ResolvedTimeouts {
  const headers = ms(timeouts.headersTimeoutMs, 10_000, 'headersTimeoutMs')
  const request = ms(timeouts.requestTimeoutMs, 30_000, 'requestTimeoutMs')
  const keepAlive = ms(timeouts.keepAliveTimeoutMs, 5_000, 'keepAliveTimeoutMs')
  const idle = ms(timeouts.idleTimeoutMs, Math.max(60_000, 2 * context.callTimeoutMs), 'idleTimeoutMs')
  const check = ms(timeouts.checkIntervalMs, 1_000, 'checkIntervalMs')
  if (check === 0) throw new TypeError('connections.checkIntervalMs must be positive')
  if (request > 0 && (headers === 0 || headers > request)) {
    throw new TypeError(`connections.headersTimeoutMs (${headers}) must be 1..requestTimeoutMs (${request})`)
  }
  if (idle > 0 && idle <= context.callTimeoutMs) {
    throw new TypeError(
      `connections.idleTimeoutMs (${idle}) must exceed the call timeout (${context.callTimeoutMs})`,
    )
  }
  if (idle > 0 && context.heartbeatMs !== undefined && idle <= context.heartbeatMs) {
    throw new TypeError(
      `connections.idleTimeoutMs (${idle}) must exceed sse.heartbeatMs (${context.heartbeatMs})`,
    )
  }
  const http: ServerOptions = {
    headersTimeout: headers,
    requestTimeout: request,
    connectionsCheckingInterval: check,
  }
  return {
    server: {
      http,
      requestTimeout: request,
      connectionTimeout: idle,
      clientErrorHandler: clientErrorHandler(logger),
    },
    keepAliveTimeoutMs: keepAlive,
  }
}

function ms(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 0)
    throw new TypeError(`connections.${name} must be an integer >= 0`)
  return value
}

/**
 * Answers what Node refuses before a request reaches fastify (timeouts, oversized or
 * malformed headers) in the gateway's error format, logs it (the address and the
 * reason, never what was sent), and closes the connection.
 */
function clientErrorHandler(logger: Logger) {
  return (err: Error & { code?: string }, socket: Socket): void => {
    // A reset leaves nothing to answer; it is the client going away, not a refusal.
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const [status, reason, message] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'timeout', 'the request was not received in time']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'header-overflow', 'the request headers are too large']
          : [400, 'malformed', 'malformed HTTP request']
    logger.info({ reason, code: err.code, remoteAddress: socket.remoteAddress }, 'client connection refused')
    if (socket.writable) {
      const body = JSON.stringify({ error: { code: 'BAD_REQUEST', message, data: { reason } } })
      const text =
        status === 408
          ? 'Request Timeout'
          : status === 431
            ? 'Request Header Fields Too Large'
            : 'Bad Request'
      socket.write(
        `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      )
    }
    socket.destroy()
  }
}
