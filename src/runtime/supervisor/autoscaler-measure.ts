import type { MetricsSnapshot } from '../../metrics/index.ts'
import type { LaunchedInstance } from '../launcher/index.ts'

/**
 * Where the autoscaler's figure comes from: readings of a unit's serving instances,
 * taken once per tick, and the value over a trailing window of them.
 */
export interface AutoscaleMeasure {
  /** Takes one reading of `instances` (the unit's serving ones) at `now`. Never rejects. */
  sample(now: number, instances: readonly LaunchedInstance[]): Promise<void>
  /**
   * The value over the last `windowMs`; undefined while the readings since the last
   * `reset` do not cover that long, or none falls in it.
   */
  over(now: number, windowMs: number): number | undefined
  /** Forgets every reading: after a step they describe another number of instances. */
  reset(now: number): void
}

/** Readings kept in time order, dropped once older than any window asked for. */
class Readings<T> {
  #items: { at: number; value: T }[] = []
  #since: number

  constructor(
    now: number,
    readonly keepMs: number,
  ) {
    this.#since = now
  }

  add(at: number, value: T): void {
    this.#items.push({ at, value })
    while (this.#items.length > 0 && this.#items[0]!.at <= at - this.keepMs) this.#items.shift()
  }

  /** Values within the last `windowMs`, or undefined while they cannot cover it. */
  within(now: number, windowMs: number): T[] | undefined {
    if (now - this.#since < windowMs) return undefined
    const values = this.#items.filter((r) => r.at > now - windowMs).map((r) => r.value)
    return values.length > 0 ? values : undefined
  }

  reset(now: number): void {
    this.#items = []
    this.#since = now
  }
}

/**
 * Handler runs in flight per serving instance, averaged over the window: each reading is
 * the sum over instances of the figure of their last pong (`LaunchedInstance.inFlight`,
 * the broker's running handlers, sent every `health.pingIntervalMs`) divided by their
 * number. A reading therefore lags by up to one ping interval.
 */
export function inFlightMeasure(now: number, keepMs: number): AutoscaleMeasure {
  const readings = new Readings<number>(now, keepMs)
  return {
    async sample(at, instances) {
      if (instances.length === 0) return
      const total = instances.reduce((sum, i) => sum + i.inFlight, 0)
      readings.add(at, total / instances.length)
    },
    over(at, windowMs) {
      const values = readings.within(at, windowMs)
      return values && values.reduce((a, b) => a + b, 0) / values.length
    },
    reset: (at) => readings.reset(at),
  }
}

const HANDLE_DURATION = 'tessera_handle_duration_seconds'

/**
 * The p99 handle duration in milliseconds over the window, from every instance's
 * `tessera_handle_duration_seconds` histogram (all services and actions it hosts): each
 * reading asks the instances for their metrics (at most `timeoutMs`; one that does not
 * answer is left out of that reading) and keeps what each histogram gained since its
 * previous reading; the window's gains are summed and the quantile interpolated within
 * its bucket as Prometheus' `histogram_quantile` does (so it is only as fine as the
 * buckets: 25, 50, 100, 250 ms…). A window without calls measures 0.
 */
export function p99Measure(now: number, keepMs: number, timeoutMs = 1000): AutoscaleMeasure {
  const readings = new Readings<Map<number, number>>(now, keepMs)
  /** Each instance's cumulative buckets at its previous reading, by node id. */
  let previous = new Map<string, Map<number, number>>()
  return {
    async sample(at, instances) {
      const snapshots = await Promise.all(instances.map((i) => i.metrics(timeoutMs)))
      const gained = new Map<number, number>()
      const seen = new Map<string, Map<number, number>>()
      for (const [i, inst] of instances.entries()) {
        const buckets = snapshots[i] && handleBuckets(snapshots[i])
        if (!buckets) continue
        seen.set(inst.nodeId, buckets)
        const before = previous.get(inst.nodeId)
        if (!before) continue // its first reading is the baseline
        for (const [le, count] of buckets)
          gained.set(le, (gained.get(le) ?? 0) + count - (before.get(le) ?? 0))
      }
      previous = seen
      readings.add(at, gained)
    },
    over(at, windowMs) {
      const values = readings.within(at, windowMs)
      if (!values) return undefined
      const sum = new Map<number, number>()
      for (const v of values) for (const [le, n] of v) sum.set(le, (sum.get(le) ?? 0) + n)
      return quantileMs(sum, 0.99)
    },
    reset: (at) => readings.reset(at),
  }
}

/** Cumulative bucket counts by upper bound (seconds; +Inf as Infinity), summed over every series. */
function handleBuckets(snapshot: MetricsSnapshot): Map<number, number> | undefined {
  const family = snapshot.find((m) => m.name === HANDLE_DURATION)
  if (!family) return undefined
  const buckets = new Map<number, number>()
  // prom-client's JSON names each histogram sample (`_bucket`, `_sum`, `_count`); its types do not say so.
  for (const v of family.values as (MetricsSnapshot[number]['values'][number] & { metricName?: string })[]) {
    if (v.metricName !== `${HANDLE_DURATION}_bucket`) continue
    const le = v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le)
    buckets.set(le, (buckets.get(le) ?? 0) + v.value)
  }
  return buckets
}

/**
 * The `q` quantile of cumulative buckets, in ms: linear within the bucket it falls in
 * (from 0 for the first); in the +Inf bucket, the highest finite bound. 0 with no counts.
 */
export function quantileMs(cumulative: Map<number, number>, q: number): number {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b)
  const total = cumulative.get(Number.POSITIVE_INFINITY) ?? 0
  if (total <= 0) return 0
  const rank = q * total
  let lowerBound = 0
  let lowerCount = 0
  for (const bound of bounds) {
    const count = cumulative.get(bound) ?? 0
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lowerBound * 1000
      const share = count === lowerCount ? 0 : (rank - lowerCount) / (count - lowerCount)
      return (lowerBound + (bound - lowerBound) * share) * 1000
    }
    lowerBound = bound
    lowerCount = count
  }
  return lowerBound * 1000
}
