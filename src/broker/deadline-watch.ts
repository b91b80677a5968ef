import type { Clock } from '../context/index.ts'

/** A registered deadline; `cancel()` is O(1) and safe to call after it fired. */
export interface DeadlineEntry {
  cancel(): void
}

/** What a deadline fires: an object rather than a closure, so a hot caller can be its own target. */
export interface Expirable {
  expire(): void
}

class Entry implements DeadlineEntry {
  fire: Expirable | undefined
  readonly deadline: number
  bucket: Bucket | undefined = undefined

  constructor(deadline: number, fire: Expirable) {
    this.deadline = deadline
    this.fire = fire
  }

  cancel(): void {
    this.fire = undefined
    const bucket = this.bucket
    if (bucket === undefined) return
    this.bucket = undefined
    bucket.entries.delete(this)
    // An emptied bucket leaves the map at once: with calls that end well before their
    // deadline (nearly all), the map holds only buckets with calls still waiting, so a
    // sweep walks a few of them instead of one per resolution step of the whole timeout.
    if (bucket.entries.size === 0 && bucket.all.get(bucket.slot) === bucket) bucket.all.delete(bucket.slot)
  }
}

/** The entries whose deadline falls in one resolution step, and where the bucket is kept. */
class Bucket {
  readonly entries = new Set<Entry>()
  constructor(
    readonly slot: number,
    readonly all: Map<number, Bucket>,
  ) {}
}

const NOOP: DeadlineEntry = { cancel() {} }

/**
 * Fires callbacks when deadlines pass, with one timer for all calls instead of a
 * `setTimeout` per call. Most calls end within a millisecond, so a new entry first
 * goes on a cheap "young" list; only entries still pending on the next tick move
 * into time buckets of `resolutionMs` (with real deletion, so finished calls hold no
 * memory until their deadline, and a bucket they emptied is dropped at once). A
 * callback fires at most about `resolutionMs` plus one tick late, never early.
 */
export class DeadlineWatch {
  readonly #clock: Clock
  readonly #resolution: number
  readonly #buckets = new Map<number, Bucket>()
  #young: Entry[] = []
  #compactAt = 1024
  #promoteScheduled = false
  #timer: unknown
  #timerAt = Number.POSITIVE_INFINITY

  constructor(clock: Clock, resolutionMs = 5) {
    this.#clock = clock
    this.#resolution = resolutionMs
  }

  /** Calls `fire.expire()` once, soon after `deadline`; never if cancelled first. Infinite deadlines are not watched. */
  watch(deadline: number, fire: Expirable): DeadlineEntry {
    if (!Number.isFinite(deadline)) return NOOP
    const entry = new Entry(deadline, fire)
    // Timers never run while a chain of microtasks keeps going (a tight `await` loop), so
    // the young list also compacts itself: finished entries drop out every so often.
    if (this.#young.push(entry) >= this.#compactAt) this.#compact()
    if (!this.#promoteScheduled) {
      this.#promoteScheduled = true
      this.#clock.setTimeout(() => this.#promote(), 0)
    }
    return entry
  }

  /** Entries not yet promoted to a bucket (live or finished); for tests of the bookkeeping. */
  get pendingYoung(): number {
    return this.#young.length
  }

  /** Buckets still held; for tests of the bookkeeping. */
  get pendingBuckets(): number {
    return this.#buckets.size
  }

  #compact(): void {
    const young = this.#young
    let live = 0
    for (let i = 0; i < young.length; i++) {
      const e = young[i]!
      if (e.fire !== undefined) young[live++] = e
    }
    young.length = live
    this.#compactAt = Math.max(1024, live * 2)
  }

  #promote(): void {
    this.#promoteScheduled = false
    const young = this.#young
    this.#young = []
    this.#compactAt = 1024
    for (const entry of young) {
      if (!entry.fire) continue
      const slot = Math.ceil(entry.deadline / this.#resolution)
      let bucket = this.#buckets.get(slot)
      if (!bucket) {
        bucket = new Bucket(slot, this.#buckets)
        this.#buckets.set(slot, bucket)
        this.#arm(slot * this.#resolution)
      }
      bucket.entries.add(entry)
      entry.bucket = bucket
    }
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
        for (const entry of bucket.entries) {
          const fire = entry.fire
          entry.fire = undefined
          entry.bucket = undefined
          fire?.expire()
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
    for (const entry of this.#young) entry.fire = undefined
    this.#young = []
  }
}
