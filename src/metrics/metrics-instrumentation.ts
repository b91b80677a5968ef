import { Counter, Gauge, type Registry } from 'prom-client'
import type { BreakerState, Instrumentation } from '../observability/index.ts'
import { BoundedLabels, OTHER, UNMATCHED } from './bounded-labels.ts'
import { bump, registerFamily } from './fast-families.ts'
import { ActionStats, DURATION_BUCKETS, EventStats, Names, RouteStats } from './stats.ts'

export { DURATION_BUCKETS }

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
 * over the others. Hooks never return spans, so the trace is left as it is. The call
 * path only bumps plain numbers in records found by name; samples are built when the
 * registry is collected (prom-client's own metrics hash their labels on every update).
 *
 * Counters and gauges are exact. Latency histograms are exact for a series running at
 * up to ~1 000 hops a second; above that `timed` asks the broker to time 1 in N of its
 * hops and each observation is weighted N (TimingStride, decision 0034), so buckets,
 * `_sum` and `_count` are unbiased estimates and `_count` may trail the calls counter
 * by less than one N.
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
  const actions = new Names<ActionStats>(max, (service, action) => new ActionStats(service, action))
  const events = new Names<EventStats>(max, (service, event) => new EventStats(service, event))
  const routes = new Map<string, RouteStats>()
  const routeNames = new BoundedLabels(max)
  const registers = [registry]

  const each = () => actions.all()
  registerFamily(
    registry,
    'tessera_calls_total',
    'Calls made, by outcome (OK or error code), retries included.',
    'counter',
    () =>
      each().flatMap((a) =>
        [...a.callers].flatMap(([caller, c]) =>
          c.codes.entries().map(([code, value]) => ({
            labels: { caller, service: a.service, action: a.action, code },
            value,
          })),
        ),
      ),
  )
  registerFamily(
    registry,
    'tessera_call_duration_seconds',
    'Call latency seen by the caller.',
    'histogram',
    () =>
      each().flatMap((a) =>
        [...a.callers].flatMap(([caller, c]) =>
          c.hist.samples('tessera_call_duration_seconds', { caller, service: a.service, action: a.action }),
        ),
      ),
  )
  registerFamily(registry, 'tessera_calls_in_flight', 'Calls made and not settled yet.', 'gauge', () =>
    each()
      .filter((a) => a.called)
      .map((a) => ({ labels: a.labels, value: a.inFlight })),
  )
  registerFamily(
    registry,
    'tessera_call_retries_total',
    'Attempts retried, by the code they failed with.',
    'counter',
    () =>
      each().flatMap((a) =>
        [...a.retries].map(([code, value]) => ({ labels: { ...a.labels, code }, value })),
      ),
  )
  registerFamily(
    registry,
    'tessera_handled_total',
    'Handler runs, by outcome (OK or error code).',
    'counter',
    () =>
      each().flatMap((a) =>
        a.handled.entries().map(([code, value]) => ({ labels: { ...a.labels, code }, value })),
      ),
  )
  registerFamily(
    registry,
    'tessera_handle_duration_seconds',
    'Handler latency on the callee.',
    'histogram',
    () =>
      each()
        .filter((a) => a.hosted)
        .flatMap((a) => a.handle.hist.samples('tessera_handle_duration_seconds', a.labels)),
  )
  registerFamily(registry, 'tessera_handling', 'Handler runs in progress.', 'gauge', () =>
    each()
      .filter((a) => a.hosted)
      .map((a) => ({ labels: a.labels, value: a.handling })),
  )
  const perAction = (name: string, help: string, pick: (a: ActionStats) => number) =>
    registerFamily(registry, name, help, 'counter', () =>
      each()
        .filter((a) => pick(a) > 0)
        .map((a) => ({ labels: a.labels, value: pick(a) })),
    )
  perAction(
    'tessera_breaker_rejections_total',
    'Attempts an open circuit refused (CIRCUIT_OPEN).',
    (a) => a.breakerRejections,
  )
  perAction('tessera_bulkhead_queued_total', 'Runs that waited for a bulkhead slot.', (a) => a.bulkheadQueued)
  perAction(
    'tessera_bulkhead_rejected_total',
    'Runs refused by a full bulkhead queue.',
    (a) => a.bulkheadRejected,
  )
  // Circuits change state rarely: prom-client's own metrics are fine here.
  const breakerTransitions = new Counter({
    name: 'tessera_breaker_transitions_total',
    help: 'Circuit state changes, by new state.',
    labelNames: ['service', 'state'],
    registers,
  })
  const breakerState = new Gauge({
    name: 'tessera_breaker_state',
    help: 'Circuits that are not closed: 1 half-open, 2 open.',
    labelNames: ['service', 'node'],
    registers,
  })
  registerFamily(registry, 'tessera_events_emitted_total', 'Events emitted, by outcome.', 'counter', () =>
    [...events.all()].flatMap((e) =>
      [...e.emitted].map(([code, value]) => ({ labels: { ...e.labels, code }, value })),
    ),
  )
  registerFamily(
    registry,
    'tessera_events_handled_total',
    'Event deliveries handled, by outcome.',
    'counter',
    () =>
      [...events.all()].flatMap((e) =>
        [...e.handled].map(([code, value]) => ({ labels: { ...e.labels, code }, value })),
      ),
  )
  registerFamily(registry, 'tessera_event_duration_seconds', 'Event handler latency.', 'histogram', () =>
    [...events.all()]
      .filter((e) => e.hist.count > 0)
      .flatMap((e) => e.hist.samples('tessera_event_duration_seconds', e.labels)),
  )
  registerFamily(
    registry,
    'tessera_http_requests_total',
    'HTTP requests the gateway answered, by status.',
    'counter',
    () =>
      [...routes.values()].flatMap((r) =>
        [...r.statuses].map(([status, value]) => ({ labels: { ...r.labels, status }, value })),
      ),
  )
  registerFamily(
    registry,
    'tessera_http_request_duration_seconds',
    'HTTP request latency.',
    'histogram',
    () =>
      [...routes.values()].flatMap((r) => r.hist.samples('tessera_http_request_duration_seconds', r.labels)),
  )

  const routeOf = (method: string, route: string, status: number): RouteStats => {
    // An unmatched request reports its raw path: it gets a series of its own only if
    // that route was seen answering something other than 404/405 before.
    const unmatched = status === 404 || status === 405
    const key = `${method} ${route}`
    const own = unmatched ? routeNames.has(key) : routeNames.admit(key)
    const label = own ? route : unmatched ? UNMATCHED : OTHER
    const k = `${method} ${label}`
    let r = routes.get(k)
    if (!r) {
      r = new RouteStats(method, label)
      routes.set(k, r)
    }
    return r
  }

  return {
    timed(hop, service, name, caller) {
      if (hop === 'call')
        return actions
          .of(service, name)
          .caller(caller ?? OUTSIDE)
          .stride.next()
      if (hop === 'handle') return actions.of(service, name).handle.stride.next()
      return events.of(service, name).stride.next()
    },
    callStarted(service, action) {
      const a = actions.of(service, action)
      a.called = true
      a.inFlight++
      return undefined
    },
    callEnded(service, action, caller, _span, outcome, durationMs) {
      const a = actions.of(service, action)
      a.inFlight--
      const c = a.caller(caller ?? OUTSIDE)
      c.codes.add(outcome)
      c.observe(durationMs)
    },
    callRetried(service, action, _span, _attempt, code) {
      bump(actions.of(service, action).retries, code)
    },
    breakerRejected(service, action) {
      actions.of(service, action).breakerRejections++
    },
    breakerChanged(service, node, state) {
      breakerTransitions.inc({ service, state })
      // Node ids change with every restart: a series lives only while its circuit is not closed.
      if (state === 'closed') breakerState.remove({ service, node })
      else breakerState.set({ service, node }, BREAKER_VALUE[state])
    },
    handleStarted(service, action) {
      const a = actions.of(service, action)
      a.hosted = true
      a.handling++
      return undefined
    },
    handleEnded(service, action, _caller, _span, outcome, durationMs) {
      const a = actions.of(service, action)
      a.handling--
      a.handled.add(outcome)
      a.handle.observe(durationMs)
    },
    bulkheadQueued(service, action) {
      actions.of(service, action).bulkheadQueued++
    },
    bulkheadRejected(service, action) {
      actions.of(service, action).bulkheadRejected++
    },
    emitEnded(service, event, _span, outcome) {
      bump(events.of(service, event).emitted, outcome)
    },
    eventEnded(service, event, _span, outcome, durationMs) {
      const e = events.of(service, event)
      bump(e.handled, outcome)
      e.observe(durationMs)
    },
    requestEnded(method, route, _span, status, durationMs) {
      const r = routeOf(method, route, status)
      bump(r.statuses, String(status))
      r.hist.observe(durationMs / 1000)
    },
  }
}
