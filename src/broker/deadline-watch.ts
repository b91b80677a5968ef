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
  readonly #watch: DeadlineWatch

  constructor(deadline: number, fire: Expirable, watch: DeadlineWatch) {
    this.deadline = deadline
    this.fire = fire
    this.#watch = watch
  }

  cancel(): void {
    if (this.fire === undefined) return
    this.fire = undefined
    this.#watch.ended()
    const bucket = this.bucket
    if (bucket === undefined) return
    this.bucket = undefined
    bucket.entries.delete(this)
    // An emptied bucket leaves the map at once, so the map holds only buckets with calls
    // still waiting and a sweep walks a few of them.
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

/** setTimeout's longest delay (~24.8 days): Node fires a longer one after 1 ms instead. */
const MAX_DELAY = 2 ** 31 - 1

/** What Node's timers have beyond the Clock interface (a fake clock's handles do not). */
interface Refable {
  ref?(): unknown
  unref?(): unknown
}

/**
 * Fires callbacks when deadlines pass, with one timer for all calls instead of a
 * `setTimeout` per call. Nearly every call ends long before its deadline, so a watch
 * costs only an entry on a "young" list: no timer is touched while calls keep coming
 * with deadlines no earlier than the one the timer is armed for (the same timeout, in
 * order). The timer is armed for the earliest deadline; when it fires, the sweep fires
 * what is due and moves the young entries still waiting into time buckets of
 * `resolutionMs`, so later sweeps walk only the buckets that are due. A callback fires
 * at most about `resolutionMs` late, never early.
 *
 * An earlier design promoted the young list one tick after each watch, with a
 * `setTimeout(0)`: at one call in flight that timer woke the process every millisecond,
 * a fifth of a NATS call's CPU on this machine (docs/performance.md).
 *
 * The timer keeps the process alive only while some deadline is live (a call that can
 * still time out), as a timer per call would: it is unref'd when the last one ends.
 */
export class DeadlineWatch {
  readonly #clock: Clock
  readonly #resolution: number
  readonly #buckets = new Map<number, Bucket>()
  #young: Entry[] = []
  #compactAt = 1024
  /** Entries neither fired nor cancelled. */
  #live = 0
  #timer: unknown
  #timerAt = Number.POSITIVE_INFINITY
  #timerRefed = false

  constructor(clock: Clock, resolutionMs = 5) {
    this.#clock = clock
    this.#resolution = resolutionMs
  }

  /** Calls `fire.expire()` once, soon after `deadline`; never if cancelled first. Infinite deadlines are not watched. */
  watch(deadline: number, fire: Expirable): DeadlineEntry {
    if (!Number.isFinite(deadline)) return NOOP
    const entry = new Entry(deadline, fire, this)
    // Timers may not run for long (a tight `await` loop, or simply a long timeout), so
    // the young list compacts itself: finished entries drop out every so often.
    if (this.#young.push(entry) >= this.#compactAt) this.#compact()
    if (this.#live++ === 0 && this.#timer !== undefined) this.#ref(true)
    const at = Math.ceil(deadline / this.#resolution) * this.#resolution
    if (at < this.#timerAt) this.#arm(at)
    return entry
  }

  /** An entry was cancelled before it fired. */
  ended(): void {
    if (--this.#live === 0 && this.#timer !== undefined) this.#ref(false)
  }

  /** Entries on the young list (live or finished, until compacted or swept); for tests of the bookkeeping. */
  get pendingYoung(): number {
    return this.#young.length
  }

  /** Buckets still held; for tests of the bookkeeping. */
  get pendingBuckets(): number {
    return this.#buckets.size
  }

  /** Whether the timer is armed; for tests of the bookkeeping. */
  get armed(): boolean {
    return this.#timer !== undefined
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

  #arm(at: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timerAt = at
    // A deadline further away than that is swept early once, finds nothing due, re-arms.
    const delay = Math.min(MAX_DELAY, Math.max(0, at - this.#clock.now()))
    this.#timer = this.#clock.setTimeout(() => this.#sweep(), delay)
    this.#timerRefed = true
    if (this.#live === 0) this.#ref(false)
  }

  #ref(on: boolean): void {
    if (this.#timerRefed === on) return
    this.#timerRefed = on
    const timer = this.#timer as Refable
    if (on) timer.ref?.()
    else timer.unref?.()
  }

  #sweep(): void {
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    const now = this.#clock.now()
    // The young entries: what is due fires now, the rest waits in its bucket.
    const young = this.#young
    this.#young = []
    this.#compactAt = 1024
    for (const entry of young) {
      if (entry.fire === undefined) continue
      if (entry.deadline <= now) {
        this.#fire(entry)
        continue
      }
      const slot = Math.ceil(entry.deadline / this.#resolution)
      let bucket = this.#buckets.get(slot)
      if (!bucket) {
        bucket = new Bucket(slot, this.#buckets)
        this.#buckets.set(slot, bucket)
      }
      bucket.entries.add(entry)
      entry.bucket = bucket
    }
    let next = Number.POSITIVE_INFINITY
    for (const [slot, bucket] of this.#buckets) {
      const at = slot * this.#resolution
      if (at <= now) {
        this.#buckets.delete(slot)
        for (const entry of bucket.entries) {
          entry.bucket = undefined
          this.#fire(entry)
        }
      } else if (at < next) {
        next = at
      }
    }
    // Entries watched by the callbacks above are on the new young list, and armed the
    // timer for themselves if they are the earliest.
    if (next < this.#timerAt) this.#arm(next)
  }

  #fire(entry: Entry): void {
    const fire = entry.fire
    if (fire === undefined) return
    entry.fire = undefined
    this.#live--
    fire.expire()
  }

  /** Drops every pending deadline without firing; for shutdown. */
  clear(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    for (const bucket of this.#buckets.values()) for (const entry of bucket.entries) entry.fire = undefined
    this.#buckets.clear()
    for (const entry of this.#young) entry.fire = undefined
    this.#young = []
    this.#live = 0
  }
}
