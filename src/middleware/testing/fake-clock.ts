import type { Clock } from '../../context/index.ts'

interface Timer {
  readonly id: number
  readonly at: number
  readonly fn: () => void
}

/**
 * A manual Clock for tests: time only moves when the test calls `advance`, and due
 * timers fire in deadline order (ties in scheduling order), each with `now()` set to
 * its own due time. Nothing here touches real timers except `advance`, which yields
 * to pending promise callbacks (one `setImmediate` turn) before and after each timer
 * so async code that schedules a timer after an `await` is seen.
 *
 * @example
 * const clock = new FakeClock()
 * const p = sleep(clock, 100)
 * await clock.advance(100) // p is now resolved
 */
export class FakeClock implements Clock {
  #now: number
  #nextId = 1
  #timers: Timer[] = []

  constructor(start = 0) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer: Timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), fn }
    // Insert keeping (at, id) order; ids grow, so equal deadlines stay FIFO.
    let i = this.#timers.length
    while (i > 0 && this.#timers[i - 1]!.at > timer.at) i--
    this.#timers.splice(i, 0, timer)
    return timer.id
  }

  clearTimeout(handle: unknown): void {
    const i = this.#timers.findIndex((t) => t.id === handle)
    if (i >= 0) this.#timers.splice(i, 1)
  }

  /** Timers scheduled and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.length
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + Math.max(0, ms)
    await flush()
    for (;;) {
      const head = this.#timers[0]
      if (!head || head.at > target) break
      this.#timers.shift()
      this.#now = head.at
      head.fn()
      await flush()
    }
    this.#now = target
    await flush()
  }
}

/** Lets every already-queued promise callback run (one macrotask turn). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
