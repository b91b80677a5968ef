import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/**
 * The request property holding the trace id a routed request's call joined. A fastify
 * request decorator, so every request object is built with it (one shape for all of
 * them) and it is gone with the request: cheaper per request than a WeakMap entry,
 * which also costs the garbage collector an ephemeron to trace.
 */
const TRACE_ID = 'tesseraTraceId'

type TracedRequest = FastifyRequest & { [TRACE_ID]: string }

/** Declares the trace id property on `app`'s requests; call once, before routes are added. */
export function decorateTraceIds(app: FastifyInstance): void {
  app.decorateRequest(TRACE_ID, '')
}

/** Remembers the trace a request's call joins (set by the action handler before any check). */
export function rememberTrace(req: FastifyRequest, traceId: string): void {
  ;(req as TracedRequest)[TRACE_ID] = traceId
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
  const traceId = (req as Partial<TracedRequest>)[TRACE_ID]
  return traceId ? { requestId, traceId } : { requestId }
}
