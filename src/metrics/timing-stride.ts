import { performance } from 'node:perf_hooks'

/** Timed hops per second a series aims at: below this rate every hop is timed. */
export const TIMED_PER_SECOND = 1_000
/** The rate is measured again once this many hops have passed since the last measure. */
const MEASURE_EVERY = 1_024
/** The longest stride: even at 100 M hops/s a series gets a timed hop every ~0.7 ms. */
const MAX_STRIDE = 65_536

/**
 * Which hops of one latency series are timed (decision 0034): every hop while the series
 * runs at most ~`TIMED_PER_SECOND` a second, then 1 in `stride`, a power of two chosen so
 * that about that many a second still are. A clock read costs ~85 ns on this machine, half
 * an in-process call, so timing every hop of a busy action is most of what metrics cost.
 *
 * Each observation of a timed hop is weighted `stride` (the hops it stands for), so the
 * histogram's bucket counts, `_sum` and `_count` estimate those of every hop without bias
 * (hops are picked by position, not by anything about their latency). The rate is measured
 * on timed hops only, once `MEASURE_EVERY` hops have passed, with one clock read; the
 * stride grows as soon as the rate needs it and shrinks only when it is 4× too long, so a
 * rate near a boundary does not flap. A series that slows down keeps its long stride until
 * its next timed hop (then measures the slow rate): its observations are fewer meanwhile,
 * still unbiased.
 */
export class TimingStride {
  /** Hops per timed hop now. */
  stride = 1
  #countdown = 1
  /** The hops the next timed hop stands for: the stride its countdown started from. */
  #gap = 1
  /** Weights of timed hops begun and not yet observed, oldest first. */
  readonly #owed: number[] = []
  #sinceMeasure = 0
  readonly #now: () => number
  #measuredAt: number

  /** `now`: milliseconds, `performance.now` unless a test drives the clock. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now
    this.#measuredAt = now()
  }

  /** Counts one hop; true if it is to be timed. A decrement and a compare unless it is. */
  next(): boolean {
    if (--this.#countdown > 0) return false
    this.#owed.push(this.#gap)
    this.#sinceMeasure += this.#gap
    if (this.#sinceMeasure >= MEASURE_EVERY) this.#measure()
    this.#countdown = this.stride
    this.#gap = this.stride
    return true
  }

  /**
   * The weight of a timed hop that ended: the hops it stands for. Hops end in any order,
   * so the oldest owed weight is taken: the weights differ only around a change of
   * stride, and their sum is exact, so `_count` never passes the true count and trails
   * it by less than one stride. 1 for an observation no `next` asked for.
   */
  weight(): number {
    return this.#owed.shift() ?? 1
  }

  #measure(): void {
    const now = this.#now()
    const elapsedMs = now - this.#measuredAt
    const perSecond = elapsedMs > 0 ? (this.#sinceMeasure * 1_000) / elapsedMs : Number.POSITIVE_INFINITY
    this.#sinceMeasure = 0
    this.#measuredAt = now
    const wanted = perSecond / TIMED_PER_SECOND
    if (wanted > this.stride) this.stride = Math.min(MAX_STRIDE, powerOfTwoAtLeast(wanted))
    else if (wanted * 4 < this.stride) this.stride = Math.max(1, powerOfTwoAtLeast(wanted))
  }
}

function powerOfTwoAtLeast(x: number): number {
  let p = 1
  while (p < x) p *= 2
  return p
}
