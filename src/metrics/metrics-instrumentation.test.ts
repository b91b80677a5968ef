import { Type as T } from '@sinclair/typebox'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createBroker } from '../broker/index.ts'
import { defineService } from '../contract/index.ts'
import { metricsInstrumentation } from './metrics-instrumentation.ts'
import { parsePrometheus, samples, total } from './testing/parse-prometheus.ts'

async function scrape(registry: Registry) {
  return parsePrometheus(await registry.metrics())
}

/** One histogram series from the registry's JSON: cumulative buckets by `le`, count and sum. */
async function histogram(registry: Registry, name: string, labels: Record<string, string>) {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  const values = (metric?.values ?? []).filter((v) =>
    Object.entries(labels).every(([k, want]) => v.labels[k] === want),
  ) as { value: number; labels: Record<string, string | number>; metricName?: string }[]
  const buckets: Record<string, number> = {}
  let count = 0
  let sum = 0
  for (const v of values) {
    if (v.metricName === `${name}_bucket`) buckets[String(v.labels.le)] = v.value
    else if (v.metricName === `${name}_count`) count = v.value
    else if (v.metricName === `${name}_sum`) sum = v.value
  }
  return { buckets, count, sum }
}

function setup(options: { maxNames?: number } = {}) {
  const registry = new Registry()
  return { registry, m: metricsInstrumentation(registry, options) }
}

describe('metricsInstrumentation', () => {
  it('counts handler runs by code, observes their latency and tracks those in progress', async () => {
    const { registry, m } = setup()
    m.handleStarted?.('users', 'get', 'orders', undefined, 1)
    m.handleStarted?.('users', 'get', 'orders', undefined, 2)
    let parsed = await scrape(registry)
    expect(total(parsed, 'tessera_handling', { service: 'users', action: 'get' })).toBe(2)
    m.handleEnded?.('users', 'get', 'orders', undefined, 'OK', 3, 1)
    m.handleEnded?.('users', 'get', 'orders', undefined, 'NOT_FOUND', 30, 0)
    parsed = await scrape(registry)
    expect(total(parsed, 'tessera_handling', { service: 'users', action: 'get' })).toBe(0)
    expect(total(parsed, 'tessera_handled_total', { service: 'users', action: 'get', code: 'OK' })).toBe(1)
    expect(
      total(parsed, 'tessera_handled_total', { service: 'users', action: 'get', code: 'NOT_FOUND' }),
    ).toBe(1)
    // Histograms from the registry's JSON: the text parser loses labelled histograms' labels.
    const hist = await histogram(registry, 'tessera_handle_duration_seconds', {
      service: 'users',
      action: 'get',
    })
    expect(hist.count).toBe(2)
    expect(hist.sum).toBeCloseTo(0.033)
    // 3 ms falls in the 5 ms bucket, 30 ms only from 50 ms on.
    expect(hist.buckets['0.005']).toBe(1)
    expect(hist.buckets['0.025']).toBe(1)
    expect(hist.buckets['0.05']).toBe(2)
  })

  it('counts calls once per call with the caller, retries by the failed attempt’s code', async () => {
    const { registry, m } = setup()
    m.callStarted?.('users', 'get', 'orders', undefined)
    m.callRetried?.('users', 'get', undefined, 1, 'UNAVAILABLE', 20)
    let parsed = await scrape(registry)
    expect(total(parsed, 'tessera_calls_in_flight', { service: 'users', action: 'get' })).toBe(1)
    m.callEnded?.('users', 'get', 'orders', undefined, 'OK', 12)
    m.callStarted?.('users', 'get', undefined, undefined)
    m.callEnded?.('users', 'get', undefined, undefined, 'TIMEOUT', 1000)
    parsed = await scrape(registry)
    expect(total(parsed, 'tessera_calls_in_flight')).toBe(0)
    expect(total(parsed, 'tessera_calls_total', { caller: 'orders', service: 'users', code: 'OK' })).toBe(1)
    expect(total(parsed, 'tessera_calls_total', { caller: '(outside)', code: 'TIMEOUT' })).toBe(1)
    expect(total(parsed, 'tessera_call_retries_total', { service: 'users', code: 'UNAVAILABLE' })).toBe(1)
    const hist = await histogram(registry, 'tessera_call_duration_seconds', {
      caller: 'orders',
      service: 'users',
    })
    expect(hist.count).toBe(1)
    expect(hist.sum).toBeCloseTo(0.012)
  })

  it('keeps a breaker series only while the circuit is not closed', async () => {
    const { registry, m } = setup()
    m.breakerChanged?.('users', 'users-node-1', 'open')
    m.breakerRejected?.('users', 'get', 'users-node-1', undefined)
    let parsed = await scrape(registry)
    expect(total(parsed, 'tessera_breaker_state', { service: 'users', node: 'users-node-1' })).toBe(2)
    expect(total(parsed, 'tessera_breaker_rejections_total', { service: 'users', action: 'get' })).toBe(1)
    m.breakerChanged?.('users', 'users-node-1', 'half-open')
    parsed = await scrape(registry)
    expect(total(parsed, 'tessera_breaker_state', { node: 'users-node-1' })).toBe(1)
    m.breakerChanged?.('users', 'users-node-1', 'closed')
    parsed = await scrape(registry)
    expect(samples(parsed, 'tessera_breaker_state')).toEqual([])
    expect(total(parsed, 'tessera_breaker_transitions_total', { service: 'users' })).toBe(3)
  })

  it('counts bulkhead waits and refusals', async () => {
    const { registry, m } = setup()
    m.bulkheadQueued?.('users', 'get', 0)
    m.bulkheadQueued?.('users', 'get', 1)
    m.bulkheadRejected?.('users', 'get')
    const parsed = await scrape(registry)
    expect(total(parsed, 'tessera_bulkhead_queued_total', { service: 'users', action: 'get' })).toBe(2)
    expect(total(parsed, 'tessera_bulkhead_rejected_total', { service: 'users', action: 'get' })).toBe(1)
  })

  it('counts events emitted and handled by outcome', async () => {
    const { registry, m } = setup()
    m.emitEnded?.('orders', 'order.placed', undefined, 'OK', 2)
    m.eventEnded?.('notifications', 'order.placed', undefined, 'INTERNAL', 4)
    const parsed = await scrape(registry)
    expect(total(parsed, 'tessera_events_emitted_total', { service: 'orders', event: 'order.placed' })).toBe(
      1,
    )
    expect(total(parsed, 'tessera_events_handled_total', { code: 'INTERNAL' })).toBe(1)
    expect(
      (await histogram(registry, 'tessera_event_duration_seconds', { service: 'notifications' })).count,
    ).toBe(1)
  })

  it('labels gateway requests by route pattern, and unmatched paths as one series', async () => {
    const { registry, m } = setup()
    m.requestEnded?.('GET', '/users/:id', undefined, 200, 5)
    m.requestEnded?.('GET', '/users/:id', undefined, 404, 5) // a matched route answering NOT_FOUND
    m.requestEnded?.('GET', '/wp-admin/1', undefined, 404, 1)
    m.requestEnded?.('GET', '/wp-admin/2', undefined, 404, 1)
    const parsed = await scrape(registry)
    expect(total(parsed, 'tessera_http_requests_total', { route: '/users/:id' })).toBe(2)
    expect(total(parsed, 'tessera_http_requests_total', { route: '(unmatched)', status: '404' })).toBe(2)
    expect(samples(parsed, 'tessera_http_requests_total').map((s) => s.labels?.route)).not.toContain(
      '/wp-admin/1',
    )
  })

  it('keeps the number of series bounded when callers name actions that do not exist', async () => {
    const { registry, m } = setup({ maxNames: 3 })
    for (let i = 0; i < 50; i++) {
      m.callStarted?.('users', `nope${i}`, undefined, undefined)
      m.callEnded?.('users', `nope${i}`, undefined, undefined, 'NOT_FOUND', 1)
    }
    const parsed = await scrape(registry)
    const actions = new Set(samples(parsed, 'tessera_calls_total').map((s) => s.labels?.action))
    expect(actions).toEqual(new Set(['nope0', 'nope1', 'nope2', '(other)']))
    expect(total(parsed, 'tessera_calls_total')).toBe(50)
    expect(total(parsed, 'tessera_calls_total', { service: '(other)', action: '(other)' })).toBe(47)
  })

  it('returns no span, so the trace is left to a tracer', () => {
    const { m } = setup()
    expect(m.callStarted?.('users', 'get', undefined, undefined)).toBeUndefined()
    expect(m.handleStarted?.('users', 'get', undefined, undefined, 1)).toBeUndefined()
    expect(m.emitStarted).toBeUndefined()
    expect(m.requestStarted).toBeUndefined()
  })

  it('keeps histograms valid when a busy action is timed 1 in N: _count tracks the calls, buckets are cumulative', async () => {
    const registry = new Registry()
    const echo = defineService({
      name: 'echo',
      actions: ({ action }) => ({
        ping: action({ input: T.Number(), output: T.Number(), handler: (n) => n }),
      }),
    })
    const broker = createBroker({ services: [echo], instrumentation: metricsInstrumentation(registry) })
    await broker.start()
    try {
      const client = broker.client<typeof echo>('echo')
      const calls = 30_000
      for (let i = 0; i < calls; i++) await client.ping(i)
      const parsed = await scrape(registry)
      // Counters stay exact.
      expect(total(parsed, 'tessera_calls_total', { service: 'echo', code: 'OK' })).toBe(calls)
      expect(total(parsed, 'tessera_handled_total', { service: 'echo', code: 'OK' })).toBe(calls)
      for (const name of ['tessera_call_duration_seconds', 'tessera_handle_duration_seconds']) {
        const h = await histogram(registry, name, { service: 'echo', action: 'ping' })
        // Each timed call stands for the calls of its stride (at most 65 536 apart; here far
        // fewer): _count trails the calls by less than one stride, and never passes them.
        expect(h.count).toBeLessThanOrEqual(calls)
        expect(h.count).toBeGreaterThan(calls / 2)
        expect(h.buckets['+Inf']).toBe(h.count)
        // In order of `le` (object keys like '1' and '10' would come first).
        const cumulative = Object.entries(h.buckets)
          .sort(([a], [b]) => Number(a) - Number(b))
          .map(([, count]) => count)
        expect([...cumulative].sort((a, b) => a - b)).toEqual(cumulative)
        expect(h.sum).toBeGreaterThan(0)
      }
    } finally {
      await broker.stop()
    }
  })
})
