import { type Instrumentation, neverTimed, type SpanIds } from '../observability/index.ts'
import { LiveSpan } from './live-span.ts'
import type { SpanRecord } from './span-record.ts'
import { UnsampledRoot } from './unsampled-root.ts'

type Attributes = Record<string, string | number | boolean>

export interface TraceInstrumentationOptions {
  /** The process's unit (`service.name`), the service of spans that name none. */
  unit: string
  /** Share of new traces sampled, 0 < ratio ≤ 1. */
  sampleRatio: number
  newTraceId: () => string
  newSpanId: () => string
  /** Receives each span as it ends. */
  record: (span: SpanRecord) => void
}

/**
 * The Instrumentation that records spans. Sampling is parent-based and decided before
 * anything is made: a hop whose parent is not sampled makes nothing at all, and a root
 * that loses the ratio draw only gets flags-00 ids, so the processes downstream do not
 * sample it either. A sampled hop's span is a `LiveSpan`, which the broker carries as
 * the hop's ids and hands back to the end hook.
 */
export function traceInstrumentation(o: TraceInstrumentationOptions): Instrumentation {
  const { unit, sampleRatio, newTraceId, newSpanId, record } = o

  const draw = rootDraw(sampleRatio)
  const sampled = (parent: SpanIds | undefined): boolean => (parent ? (parent.flags & 1) === 1 : draw())

  /** The ids a hop carries when it is not sampled: none with a parent, an unsampled root (lazy ids) without. */
  const skip = (parent: SpanIds | undefined): SpanIds | undefined =>
    parent ? undefined : new UnsampledRoot(newTraceId, newSpanId)

  // Callers check `sampled` first: attributes are built only for spans that are made,
  // each in one literal (no keys added later, one shape per kind of span).
  const start = (
    name: string,
    kind: SpanRecord['kind'],
    parent: SpanIds | undefined,
    service: string | undefined,
    attributes: Attributes,
  ): SpanIds =>
    new LiveSpan(parent?.traceId ?? newTraceId(), newSpanId(), parent, name, kind, service, attributes)

  const end = (span: SpanIds | undefined, outcome: string, attributes?: Attributes): void => {
    if (!(span instanceof LiveSpan)) return
    const done = span.end(outcome, unit, attributes)
    if (done) record(done)
  }

  // `service.action`, made once per pair: a call and its handler (and the next call of the
  // same action) ask for the same one.
  let lastService: string | undefined
  let lastAction: string | undefined
  let lastName = ''
  const rpcName = (service: string, action: string): string => {
    if (service !== lastService || action !== lastAction) {
      lastService = service
      lastAction = action
      lastName = `${service}.${action}`
    }
    return lastName
  }

  const client = (service: string, action: string, caller: string | undefined): Attributes =>
    caller === undefined
      ? { 'rpc.system': 'tessera', 'rpc.service': service, 'rpc.method': action }
      : {
          'rpc.system': 'tessera',
          'rpc.service': service,
          'rpc.method': action,
          'tessera.caller': caller,
          'tessera.service': caller,
        }

  const server = (
    service: string,
    action: string,
    caller: string | undefined,
    inFlight: number,
  ): Attributes =>
    caller === undefined
      ? {
          'rpc.system': 'tessera',
          'rpc.service': service,
          'rpc.method': action,
          'tessera.in_flight': inFlight,
          'tessera.service': service,
        }
      : {
          'rpc.system': 'tessera',
          'rpc.service': service,
          'rpc.method': action,
          'tessera.caller': caller,
          'tessera.in_flight': inFlight,
          'tessera.service': service,
        }

  const messaging = (event: string, service: string): Attributes => ({
    'messaging.system': 'tessera',
    'messaging.destination.name': event,
    'tessera.service': service,
  })

  return {
    // Spans time themselves (LiveSpan): the broker's clock reads are not needed for them.
    timed: neverTimed,
    callStarted: (service, action, caller, parent) =>
      !sampled(parent)
        ? skip(parent)
        : start(rpcName(service, action), 'client', parent, caller, client(service, action, caller)),
    callEnded: (_s, _a, _c, span, outcome) => end(span, outcome),
    callRetried(_s, _a, span, attempt, code, delayMs) {
      if (span instanceof LiveSpan) span.addEvent('retry', { attempt, 'tessera.error.code': code, delayMs })
    },
    breakerRejected(service, _a, nodeId, span) {
      if (span instanceof LiveSpan) span.addEvent('circuit_open', { service, nodeId })
    },
    handleStarted: (service, action, caller, parent, inFlight) => {
      if (!sampled(parent)) return skip(parent)
      return start(
        rpcName(service, action),
        'server',
        parent,
        service,
        server(service, action, caller, inFlight),
      )
    },
    handleEnded: (_s, _a, _c, span, outcome) => end(span, outcome),
    emitStarted: (service, event, parent) =>
      !sampled(parent)
        ? skip(parent)
        : start(`${event} publish`, 'producer', parent, service, messaging(event, service)),
    emitEnded: (_s, _e, span, outcome, targets) => end(span, outcome, { 'tessera.targets': targets }),
    eventStarted: (service, event, parent) =>
      !sampled(parent)
        ? skip(parent)
        : start(`${event} process`, 'consumer', parent, service, messaging(event, service)),
    eventEnded: (_s, _e, span, outcome) => end(span, outcome),
    requestStarted: (method, route, parent, requestId) =>
      !sampled(parent)
        ? skip(parent)
        : start(`${method} ${route}`, 'server', parent, undefined, {
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
        : start(name, 'internal', parent, service, { ...attributes, 'tessera.service': service }),
    spanEnded: (_s, _n, span, outcome) => end(span, outcome),
  }
}

/**
 * Whether the next new trace is sampled, at `ratio`: a countdown to the next sampled one,
 * drawn from the geometric distribution of the gaps between sampled traces, so each
 * trace is sampled with probability `ratio` independently of the others (as a draw per
 * trace would be) while a trace that is not sampled costs a decrement and a compare.
 */
export function rootDraw(ratio: number): () => boolean {
  if (ratio >= 1) return () => true
  const logMiss = Math.log1p(-ratio)
  // Gap to the next sampled trace, 1 or more: 1 + floor(ln U / ln(1 - ratio)), U in (0, 1].
  const gap = () => 1 + Math.floor(Math.log(1 - Math.random()) / logMiss)
  let countdown = gap()
  return () => {
    if (--countdown > 0) return false
    countdown = gap()
    return true
  }
}
