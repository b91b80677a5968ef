import type { Clock } from '../context/index.ts'

/** A registered deadline; `cancel()` is O(1) and safe to call after it fired. */
export interface DeadlineEntry {
  cancel(): void
}

interface Entry extends DeadlineEntry {
  fire: (() => void) | undefined
  bucket: Set<Entry> | undefined
}

/**
 * Fires callbacks when deadlines pass, with one timer for all calls instead of a
 * `setTimeout` per call. Deadlines are grouped in `resolutionMs` buckets, so a
 * callback fires at most `resolutionMs` late (never early). Cancelling removes the
 * entry at once, so completed calls hold no memory until their deadline.
 */
export class DeadlineWatch {
  readonly #clock: Clock
  readonly #resolution: number
  readonly #buckets = new Map<number, Set<Entry>>()
  #timer: unknown
  #timerAt = Number.POSITIVE_INFINITY

  constructor(clock: Clock, resolutionMs = 5) {
    this.#clock = clock
    this.#resolution = resolutionMs
  }

  /** Calls `fire` once, soon after `deadline`; never if cancelled first. Infinite deadlines are not watched. */
  watch(deadline: number, fire: () => void): DeadlineEntry {
    const entry: Entry = { fire, bucket: undefined, cancel: cancelEntry }
    if (!Number.isFinite(deadline)) return entry
    const slot = Math.ceil(deadline / this.#resolution)
    let bucket = this.#buckets.get(slot)
    if (!bucket) {
      bucket = new Set()
      this.#buckets.set(slot, bucket)
      this.#arm(slot * this.#resolution)
    }
    bucket.add(entry)
    entry.bucket = bucket
    return entry
  }

  /** Number of buckets still held; for tests of the sweep. */
  get pendingBuckets(): number {
    return this.#buckets.size
  }

  #arm(at: number): void {
    if (at >= this.#timerAt) return
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timerAt = at
    this.#timer = this.#clock.setTimeout(() => this.#sweep(), Math.max(0, at - this.#clock.now()))
  }

  #sweep(): void {
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    const now = this.#clock.now()
    let next = Number.POSITIVE_INFINITY
    for (const [slot, bucket] of this.#buckets) {
      const at = slot * this.#resolution
      if (at <= now) {
        this.#buckets.delete(slot)
        for (const entry of bucket) {
          const fire = entry.fire
          entry.fire = undefined
          entry.bucket = undefined
          fire?.()
        }
      } else if (at < next) {
        next = at
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next)
  }

  /** Drops every pending deadline without firing; for shutdown. */
  clear(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    this.#buckets.clear()
  }
}

function cancelEntry(this: Entry): void {
  this.fire = undefined
  this.bucket?.delete(this)
  this.bucket = undefined
}
