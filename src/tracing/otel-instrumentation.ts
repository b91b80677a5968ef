import {
  type Context,
  createTraceState,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import type { Instrumentation, SpanIds } from '../observability/index.ts'

/**
 * The Instrumentation that records OTel spans. Sampling is parent-based and decided
 * here, before OTel is asked for anything: a hop whose parent is not sampled, or a root
 * that loses the ratio draw, makes no span object at all (an unsampled root only gets
 * flags 00 ids, so the processes downstream do not sample it either).
 *
 * Open spans are kept by span id until their end hook, so retries and breaker
 * refusals (which name the call's span) land on the right one.
 */
export function otelInstrumentation(
  tracer: Tracer,
  sampleRatio: number,
  newIds: () => SpanIds,
): Instrumentation {
  const open = new Map<string, Span>()

  const sampled = (parent: SpanIds | undefined): boolean =>
    parent ? (parent.flags & 1) === 1 : sampleRatio >= 1 || Math.random() < sampleRatio

  /** The ids a hop carries when it is not sampled: none with a parent, an unsampled root without. */
  const skip = (parent: SpanIds | undefined): SpanIds | undefined =>
    parent ? undefined : { ...newIds(), flags: 0 }

  // Callers check `sampled` first: attributes are built only for spans that are made.
  function start(
    name: string,
    kind: SpanKind,
    parent: SpanIds | undefined,
    attributes: Readonly<Record<string, string | number | boolean>>,
  ): SpanIds {
    const span = tracer.startSpan(name, { kind, attributes }, contextOf(parent))
    const ids = span.spanContext()
    const out: { traceId: string; spanId: string; flags: number; state?: string } = {
      traceId: ids.traceId,
      spanId: ids.spanId,
      flags: 1,
    }
    if (parent?.state !== undefined) out.state = parent.state
    open.set(ids.spanId, span)
    return out
  }

  function end(ids: SpanIds | undefined, outcome: string, attributes?: Record<string, number>): void {
    if (ids === undefined) return
    const span = open.get(ids.spanId)
    if (!span) return
    open.delete(ids.spanId)
    if (attributes) span.setAttributes(attributes)
    if (outcome !== 'OK') {
      span.setAttribute('tessera.error.code', outcome)
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome })
    }
    span.end()
  }

  const rpc = (service: string, action: string, caller: string | undefined, own: string | undefined) => {
    const attributes: Record<string, string> = {
      'rpc.system': 'tessera',
      'rpc.service': service,
      'rpc.method': action,
    }
    if (caller !== undefined) attributes['tessera.caller'] = caller
    if (own !== undefined) attributes['tessera.service'] = own
    return attributes
  }

  return {
    callStarted: (service, action, caller, parent) =>
      !sampled(parent)
        ? skip(parent)
        : start(`${service}.${action}`, SpanKind.CLIENT, parent, rpc(service, action, caller, caller)),
    callEnded: (_s, _a, _c, span, outcome) => span !== undefined && span.flags === 1 && end(span, outcome),
    callRetried(_s, _a, span, attempt, code, delayMs) {
      if (span) open.get(span.spanId)?.addEvent('retry', { attempt, 'tessera.error.code': code, delayMs })
    },
    breakerRejected(service, _a, nodeId, span) {
      if (span) open.get(span.spanId)?.addEvent('circuit_open', { service, nodeId })
    },
    handleStarted: (service, action, caller, parent, inFlight) =>
      !sampled(parent)
        ? skip(parent)
        : start(`${service}.${action}`, SpanKind.SERVER, parent, {
            ...rpc(service, action, caller, service),
            'tessera.in_flight': inFlight,
          }),
    handleEnded: (_s, _a, _c, span, outcome) => span !== undefined && span.flags === 1 && end(span, outcome),
    emitStarted: (service, event, parent) =>
      !sampled(parent)
        ? skip(parent)
        : start(`${event} publish`, SpanKind.PRODUCER, parent, {
            'messaging.system': 'tessera',
            'messaging.destination.name': event,
            'tessera.service': service,
          }),
    emitEnded: (_s, _e, span, outcome, targets) => end(span, outcome, { 'tessera.targets': targets }),
    eventStarted: (service, event, parent) =>
      !sampled(parent)
        ? skip(parent)
        : start(`${event} process`, SpanKind.CONSUMER, parent, {
            'messaging.system': 'tessera',
            'messaging.destination.name': event,
            'tessera.service': service,
          }),
    eventEnded: (_s, _e, span, outcome) => end(span, outcome),
    requestStarted: (method, route, parent, requestId) =>
      !sampled(parent)
        ? skip(parent)
        : start(`${method} ${route}`, SpanKind.SERVER, parent, {
            'http.request.method': method,
            'http.route': route,
            'tessera.request_id': requestId,
          }),
    requestEnded(_m, _r, span, status) {
      end(span, status >= 500 ? `HTTP ${status}` : 'OK', { 'http.response.status_code': status })
    },
    spanStarted: (service, name, parent, attributes) =>
      !sampled(parent)
        ? skip(parent)
        : start(name, SpanKind.INTERNAL, parent, { ...attributes, 'tessera.service': service }),
    spanEnded: (_s, _n, span, outcome) => span !== undefined && span.flags === 1 && end(span, outcome),
  }
}

function contextOf(parent: SpanIds | undefined): Context {
  if (!parent) return ROOT_CONTEXT
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId: parent.spanId,
    traceFlags: parent.flags,
    isRemote: true,
    ...(parent.state !== undefined ? { traceState: createTraceState(parent.state) } : {}),
  })
}
