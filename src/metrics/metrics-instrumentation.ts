import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { BreakerState, Instrumentation } from '../observability/index.ts'
import { BoundedLabels, OTHER, UNMATCHED } from './bounded-labels.ts'

/** Seconds; from a local call (~50 µs) to a slow outside API. */
export const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]

/** The caller label of calls made outside any handler (a script, a test, the gateway's routes). */
export const OUTSIDE = '(outside)'

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 }

export interface MetricsInstrumentationOptions {
  /** Distinct service.action pairs (and service.event pairs, and HTTP routes) kept apart before `(other)`. Default 500. */
  maxNames?: number
}

/**
 * The broker's and gateway's hooks as Prometheus metrics, registered on `registry`.
 * Labels are names from definitions and codes from the closed code table only (never
 * ids of requests or users; a node id only while its circuit is not closed), and name
 * labels are capped (`maxNames`), so the number of series stays bounded.
 *
 * | metric | labels |
 * |---|---|
 * | `tessera_calls_total`, `tessera_call_duration_seconds` (caller side, once per call, retries included) | caller, service, action (+ code) |
 * | `tessera_calls_in_flight` | service, action |
 * | `tessera_call_retries_total` (by the code the attempt failed with) | service, action, code |
 * | `tessera_handled_total`, `tessera_handle_duration_seconds`, `tessera_handling` (callee side) | service, action (+ code) |
 * | `tessera_breaker_rejections_total` / `tessera_breaker_transitions_total` | service, action / service, state |
 * | `tessera_breaker_state` (1 half-open, 2 open; no series while closed) | service, node |
 * | `tessera_bulkhead_queued_total`, `tessera_bulkhead_rejected_total` | service, action |
 * | `tessera_events_emitted_total`, `tessera_events_handled_total`, `tessera_event_duration_seconds` | service, event (+ code) |
 * | `tessera_http_requests_total`, `tessera_http_request_duration_seconds` | method, route (+ status) |
 *
 * `code` is `OK` or a TesseraError code: calls are the sum over codes, errors the sum
 * over the others. Hooks never return spans, so the trace is left as it is.
 *
 * @example
 * const metrics = createInstanceMetrics()
 * const broker = createBroker({
 *   instrumentation: combineInstrumentation(tracer, metricsInstrumentation(metrics.registry)),
 * })
 */
export function metricsInstrumentation(
  registry: Registry,
  options: MetricsInstrumentationOptions = {},
): Instrumentation {
  const max = options.maxNames ?? 500
  const actions = new BoundedLabels(max)
  const events = new BoundedLabels(max)
  const routes = new BoundedLabels(max)
  const registers = [registry]
  const counter = (name: string, help: string, labelNames: string[]) =>
    children(new Counter({ name, help, labelNames, registers }))
  const gauge = (name: string, help: string, labelNames: string[]) =>
    children(new Gauge({ name, help, labelNames, registers }))
  const histogram = (name: string, help: string, labelNames: string[]) =>
    children(new Histogram({ name, help, labelNames, buckets: DURATION_BUCKETS, registers }))

  const calls = counter(
    'tessera_calls_total',
    'Calls made, by outcome (OK or error code), retries included.',
    ['caller', 'service', 'action', 'code'],
  )
  const callDuration = histogram('tessera_call_duration_seconds', 'Call latency seen by the caller.', [
    'caller',
    'service',
    'action',
  ])
  const callsInFlight = gauge('tessera_calls_in_flight', 'Calls made and not settled yet.', [
    'service',
    'action',
  ])
  const retries = counter('tessera_call_retries_total', 'Attempts retried, by the code they failed with.', [
    'service',
    'action',
    'code',
  ])
  const handled = counter('tessera_handled_total', 'Handler runs, by outcome (OK or error code).', [
    'service',
    'action',
    'code',
  ])
  const handleDuration = histogram('tessera_handle_duration_seconds', 'Handler latency on the callee.', [
    'service',
    'action',
  ])
  const handling = gauge('tessera_handling', 'Handler runs in progress.', ['service', 'action'])
  const breakerRejections = counter(
    'tessera_breaker_rejections_total',
    'Attempts an open circuit refused (CIRCUIT_OPEN).',
    ['service', 'action'],
  )
  const breakerTransitions = counter(
    'tessera_breaker_transitions_total',
    'Circuit state changes, by new state.',
    ['service', 'state'],
  )
  const breakerState = new Gauge({
    name: 'tessera_breaker_state',
    help: 'Circuits that are not closed: 1 half-open, 2 open.',
    labelNames: ['service', 'node'],
    registers,
  })
  const bulkheadQueued = counter('tessera_bulkhead_queued_total', 'Runs that waited for a bulkhead slot.', [
    'service',
    'action',
  ])
  const bulkheadRejected = counter(
    'tessera_bulkhead_rejected_total',
    'Runs refused by a full bulkhead queue.',
    ['service', 'action'],
  )
  const emitted = counter('tessera_events_emitted_total', 'Events emitted, by outcome.', [
    'service',
    'event',
    'code',
  ])
  const eventsHandled = counter('tessera_events_handled_total', 'Event deliveries handled, by outcome.', [
    'service',
    'event',
    'code',
  ])
  const eventDuration = histogram('tessera_event_duration_seconds', 'Event handler latency.', [
    'service',
    'event',
  ])
  const requests = counter('tessera_http_requests_total', 'HTTP requests the gateway answered, by status.', [
    'method',
    'route',
    'status',
  ])
  const requestDuration = histogram('tessera_http_request_duration_seconds', 'HTTP request latency.', [
    'method',
    'route',
  ])

  // (service, action) is capped as one pair: past the cap both read `(other)`.
  const action = (service: string, name: string): [string, string] =>
    actions.admit(`${service}\u0000${name}`) ? [service, name] : [OTHER, OTHER]
  const event = (service: string, name: string): [string, string] =>
    events.admit(`${service}\u0000${name}`) ? [service, name] : [OTHER, OTHER]

  return {
    callStarted(service, name) {
      callsInFlight.of(...action(service, name)).inc()
      return undefined
    },
    callEnded(service, name, caller, _span, outcome, durationMs) {
      const [s, a] = action(service, name)
      const c = caller ?? OUTSIDE
      callsInFlight.of(s, a).dec()
      calls.of(c, s, a, outcome).inc()
      callDuration.of(c, s, a).observe(durationMs / 1000)
    },
    callRetried(service, name, _span, _attempt, code) {
      retries.of(...action(service, name), code).inc()
    },
    breakerRejected(service, name) {
      breakerRejections.of(...action(service, name)).inc()
    },
    breakerChanged(service, node, state) {
      breakerTransitions.of(service, state).inc()
      // Node ids change with every restart: a series lives only while its circuit is not closed.
      if (state === 'closed') breakerState.remove({ service, node })
      else breakerState.set({ service, node }, BREAKER_VALUE[state])
    },
    handleStarted(service, name) {
      handling.of(...action(service, name)).inc()
      return undefined
    },
    handleEnded(service, name, _caller, _span, outcome, durationMs) {
      const [s, a] = action(service, name)
      handling.of(s, a).dec()
      handled.of(s, a, outcome).inc()
      handleDuration.of(s, a).observe(durationMs / 1000)
    },
    bulkheadQueued(service, name) {
      bulkheadQueued.of(...action(service, name)).inc()
    },
    bulkheadRejected(service, name) {
      bulkheadRejected.of(...action(service, name)).inc()
    },
    emitEnded(service, name, _span, outcome) {
      emitted.of(...event(service, name), outcome).inc()
    },
    eventEnded(service, name, _span, outcome, durationMs) {
      const [s, e] = event(service, name)
      eventsHandled.of(s, e, outcome).inc()
      eventDuration.of(s, e).observe(durationMs / 1000)
    },
    requestEnded(method, route, _span, status, durationMs) {
      // An unmatched request reports its raw path: it gets a series of its own only if
      // that route was seen answering something other than 404/405 before.
      const unmatched = status === 404 || status === 405
      const r = (unmatched ? routes.has(route) : routes.admit(route)) ? route : unmatched ? UNMATCHED : OTHER
      requests.of(method, r, String(status)).inc()
      requestDuration.of(method, r).observe(durationMs / 1000)
    },
  }
}

/**
 * A metric's children cached by their label values (positional, in `labelNames` order),
 * so the call path builds no label object and hashes nothing after the first use.
 */
function children<Child>(metric: { labels(...values: string[]): Child }): { of(...values: string[]): Child } {
  const cache = new Map<string, Child>()
  return {
    of(...values) {
      const key = values.join('\u0000')
      let child = cache.get(key)
      if (!child) {
        child = metric.labels(...values)
        cache.set(key, child)
      }
      return child
    },
  }
}
