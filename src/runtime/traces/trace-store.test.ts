import { describe, expect, it } from 'vitest'
import type { SpanRecord } from '../../tracing/index.ts'
import { TraceStore } from './trace-store.ts'

const span = (trace: number, n: number, extra: Partial<SpanRecord> = {}): SpanRecord => ({
  traceId: trace.toString(16).padStart(32, '0'),
  spanId: n.toString(16).padStart(16, '0'),
  name: `s${n}`,
  kind: 'server',
  service: 'users',
  unit: 'users',
  startMs: 1_000 + n,
  durationMs: 5,
  status: 'ok',
  attributes: {},
  events: [],
  ...extra,
})

describe('TraceStore', () => {
  it('stays within its trace and span bounds, dropping the oldest traces', () => {
    const store = new TraceStore({ maxTraces: 10, maxSpans: 25 })
    for (let t = 1; t <= 100; t++) store.add([span(t, 1), span(t, 2)])
    expect(store.size).toEqual({ traces: 10, spans: 20 })
    expect(store.get(span(1, 1).traceId)).toBeUndefined()
    expect(store.get(span(100, 1).traceId)).toHaveLength(2)
    for (let n = 0; n < 30; n++) store.add([span(100, 10 + n)])
    expect(store.size.spans).toBeLessThanOrEqual(25)
  })

  it('filters by service, status, request id and duration; lists newest or slowest first', () => {
    const store = new TraceStore()
    store.add([span(1, 1, { requestId: 'r-1' }), span(1, 2, { service: 'orders', durationMs: 50 })])
    store.add([span(2, 1, { status: 'error', code: 'INTERNAL' })])
    store.add([span(3, 1, { durationMs: 500 })])
    const ids = (q: Parameters<TraceStore['list']>[0]) =>
      store.list(q).map((t) => Number.parseInt(t.traceId, 16))
    expect(ids({})).toEqual([3, 2, 1])
    expect(ids({ order: 'slowest' })).toEqual([3, 1, 2])
    expect(ids({ service: 'orders' })).toEqual([1])
    expect(ids({ status: 'error' })).toEqual([2])
    expect(ids({ requestId: 'r-1' })).toEqual([1])
    expect(ids({ minDurationMs: 100 })).toEqual([3])
    expect(ids({ limit: 1 })).toEqual([3])
    expect(store.list({ service: 'orders' })[0]).toMatchObject({ spans: 2, services: ['users', 'orders'] })
  })
})
