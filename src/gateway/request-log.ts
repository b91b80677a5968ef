import type { FastifyReply, FastifyRequest } from 'fastify'

/** The trace id of each routed request, for its log lines; gone with the request. */
const traces = new WeakMap<FastifyRequest, string>()

/** Remembers the trace a request's call joins (set by the action handler before any check). */
export function rememberTrace(req: FastifyRequest, traceId: string): void {
  traces.set(req, traceId)
}

/**
 * The ids a log line about this request carries: its request id (the `x-request-id` the
 * answer has, set here when it has none yet, so the line and the client agree) and, once
 * the request was routed, the trace id its call joined.
 */
export function requestLogIds(
  req: FastifyRequest,
  reply: FastifyReply,
  fresh: () => string,
): { requestId: string; traceId?: string } {
  let requestId = reply.getHeader('x-request-id')
  if (typeof requestId !== 'string') {
    requestId = fresh()
    reply.header('x-request-id', requestId)
  }
  const traceId = traces.get(req)
  return traceId === undefined ? { requestId } : { requestId, traceId }
}
