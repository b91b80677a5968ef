/** Number of buckets a window is cut into: the window slides in steps of windowMs / BUCKETS. */
const BUCKETS = 10

/**
 * Failure and total counts over the last `windowMs`, in a fixed ring of buckets, so
 * memory stays constant whatever the call rate. A bucket is reused once its slot of
 * time has left the window; the window therefore covers between `windowMs - step`
 * and `windowMs` of history (step = windowMs / 10). Time going backwards is treated
 * as the latest time seen.
 *
 * @example
 * const w = new RollingWindow(10_000)
 * w.add(clock.now(), true)
 * w.totals(clock.now()) // { failures: 1, total: 1 }
 */
export class RollingWindow {
  readonly #step: number
  readonly #slots = new Float64Array(BUCKETS).fill(Number.NEGATIVE_INFINITY)
  readonly #failures = new Float64Array(BUCKETS)
  readonly #totals = new Float64Array(BUCKETS)
  #latest = Number.NEGATIVE_INFINITY

  constructor(windowMs: number) {
    this.#step = Math.max(1, windowMs / BUCKETS)
  }

  add(now: number, failed: boolean): void {
    const slot = this.#slot(now)
    const i = index(slot)
    if (this.#slots[i] !== slot) {
      this.#slots[i] = slot
      this.#failures[i] = 0
      this.#totals[i] = 0
    }
    this.#totals[i]! += 1
    if (failed) this.#failures[i]! += 1
  }

  totals(now: number): { failures: number; total: number } {
    const slot = this.#slot(now)
    let failures = 0
    let total = 0
    for (let i = 0; i < BUCKETS; i++) {
      if (this.#slots[i]! > slot - BUCKETS) {
        failures += this.#failures[i]!
        total += this.#totals[i]!
      }
    }
    return { failures, total }
  }

  reset(): void {
    this.#slots.fill(Number.NEGATIVE_INFINITY)
  }

  #slot(now: number): number {
    if (now > this.#latest) this.#latest = now
    return Math.floor(this.#latest / this.#step)
  }
}

function index(slot: number): number {
  return ((slot % BUCKETS) + BUCKETS) % BUCKETS
}
