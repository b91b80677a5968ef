import type { Metric, Registry } from 'prom-client'

/** One sample as prom-client's registries format it. */
export interface Sample {
  labels: Record<string, string>
  value: number
  metricName?: string
}

/**
 * Observations of one histogram series in plain numbers: per-bucket counts (not
 * cumulative; the last is +Inf), sum and count. An observation is a short scan and
 * three additions — prom-client's own `observe` hashes and validates the labels on
 * every call, which on the call path costs more than the call itself.
 */
export class Hist {
  readonly counts: number[]
  sum = 0
  count = 0

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0)
  }

  /**
   * One observation standing for `weight` of them (a timed hop picked 1 in `weight`,
   * see TimingStride): bucket, sum and count all grow by the same weight, so the series
   * stays consistent (`+Inf` = `_count`) and monotonic.
   */
  observe(value: number, weight = 1): void {
    let i = 0
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i++
    this.counts[i] = (this.counts[i] ?? 0) + weight
    this.sum += value * weight
    this.count += weight
  }

  /** The `_bucket` (cumulative, `le`), `_sum` and `_count` samples of this series. */
  samples(name: string, labels: Record<string, string>): Sample[] {
    const out: Sample[] = []
    let cumulative = 0
    for (const [i, bound] of this.bounds.entries()) {
      cumulative += this.counts[i] ?? 0
      out.push({ labels: { ...labels, le: String(bound) }, value: cumulative, metricName: `${name}_bucket` })
    }
    out.push({ labels: { ...labels, le: '+Inf' }, value: this.count, metricName: `${name}_bucket` })
    out.push({ labels, value: this.sum, metricName: `${name}_sum` })
    out.push({ labels, value: this.count, metricName: `${name}_count` })
    return out
  }
}

/**
 * Registers a metric family whose samples are read from plain counters only when the
 * registry is collected (a scrape), in the shape prom-client's Registry reads any metric
 * (`name`, `help`, `type`, `get()`): the same object its cluster aggregation registers.
 */
export function registerFamily(
  registry: Registry,
  name: string,
  help: string,
  type: 'counter' | 'gauge' | 'histogram',
  samples: () => Sample[],
): void {
  const family = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: samples() }),
    reset() {},
  }
  registry.registerMetric(family as unknown as Metric)
}

/** A count per key (an outcome code, an HTTP status). */
export function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1)
}
