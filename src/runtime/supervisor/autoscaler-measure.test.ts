import { describe, expect, it } from 'vitest'
import type { MetricsSnapshot } from '../../metrics/index.ts'
import type { LaunchedInstance } from '../launcher/index.ts'
import { inFlightMeasure, p99Measure, quantileMs } from './autoscaler-measure.ts'

/** Only what the measures read of an instance. */
const instance = (o: { nodeId?: string; inFlight?: number; metrics?: MetricsSnapshot | undefined }) =>
  ({
    nodeId: o.nodeId ?? 'n1',
    inFlight: o.inFlight ?? 0,
    metrics: async () => o.metrics,
  }) as unknown as LaunchedInstance

/** A `tessera_handle_duration_seconds` family with cumulative `counts` by bound (s), per action. */
const snapshot = (...series: Record<string, number>[]): MetricsSnapshot =>
  [
    {
      name: 'tessera_handle_duration_seconds',
      help: '',
      type: 'histogram' as never,
      aggregator: 'sum',
      values: series.flatMap((counts, i) =>
        Object.entries(counts).map(([le, value]) => ({
          labels: { service: 'users', action: `a${i}`, le },
          value,
          metricName: 'tessera_handle_duration_seconds_bucket',
        })),
      ),
    },
  ] as unknown as MetricsSnapshot

describe('inFlightMeasure', () => {
  it('averages in-flight per instance over the window once readings cover it', async () => {
    const m = inFlightMeasure(0, 10_000)
    await m.sample(1000, [instance({ inFlight: 10 }), instance({ inFlight: 6 })]) // 8
    await m.sample(2000, [instance({ inFlight: 12 }), instance({ inFlight: 12 })]) // 12
    expect(m.over(2000, 3000)).toBeUndefined() // 2 s of readings do not cover 3 s
    await m.sample(3000, [instance({ inFlight: 4 })]) // 4
    expect(m.over(3000, 3000)).toBe(8)
    expect(m.over(3000, 1500)).toBe(8) // the last two readings: (12 + 4) / 2
    m.reset(3000)
    expect(m.over(9000, 3000)).toBeUndefined()
  })
})

describe('p99Measure', () => {
  it('takes the p99 of what the histograms gained over the window, summed over instances and actions', async () => {
    const m = p99Measure(0, 10_000)
    const bounds = (a: number, b: number, c: number) => ({ '0.01': a, '0.05': b, '0.1': c, '+Inf': c })
    // Baselines: nothing counts yet.
    await m.sample(1000, [
      instance({ nodeId: 'a', metrics: snapshot(bounds(100, 100, 100)) }),
      instance({ nodeId: 'b', metrics: snapshot(bounds(0, 0, 0)) }),
    ])
    // a gains 98 fast calls, b 2 calls between 50 and 100 ms (on two actions).
    await m.sample(2000, [
      instance({ nodeId: 'a', metrics: snapshot(bounds(198, 198, 198)) }),
      instance({ nodeId: 'b', metrics: snapshot(bounds(0, 0, 1), bounds(0, 0, 1)) }),
    ])
    // Rank 99 of 100 falls in the 50–100 ms bucket, halfway into its 2 calls.
    expect(m.over(2000, 2000)).toBeCloseTo(75)
    // The window after the slow calls holds none: 0, nothing was slow.
    await m.sample(3000, [instance({ nodeId: 'a', metrics: snapshot(bounds(198, 198, 198)) })])
    expect(m.over(3000, 1000)).toBe(0)
  })

  it('leaves out an instance that does not answer, and takes a new one’s first reading as its baseline', async () => {
    const m = p99Measure(0, 10_000)
    await m.sample(1000, [instance({ nodeId: 'a', metrics: undefined })])
    await m.sample(2000, [instance({ nodeId: 'a', metrics: snapshot({ '0.01': 500, '+Inf': 1000 }) })])
    expect(m.over(2000, 2000)).toBe(0)
  })
})

describe('quantileMs', () => {
  it('interpolates within the bucket and stops at the highest finite bound', () => {
    const cumulative = (entries: [number, number][]) => new Map(entries)
    expect(
      quantileMs(
        cumulative([
          [0.01, 50],
          [0.02, 100],
          [Infinity, 100],
        ]),
        0.5,
      ),
    ).toBeCloseTo(10)
    expect(
      quantileMs(
        cumulative([
          [0.01, 0],
          [0.02, 100],
          [Infinity, 100],
        ]),
        0.99,
      ),
    ).toBeCloseTo(19.9)
    expect(
      quantileMs(
        cumulative([
          [0.01, 0],
          [0.02, 0],
          [Infinity, 10],
        ]),
        0.99,
      ),
    ).toBe(20)
    expect(quantileMs(cumulative([[Infinity, 0]]), 0.99)).toBe(0)
  })
})
