import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../middleware/testing/fake-clock.ts'
import { DeadlineWatch } from './deadline-watch.ts'

const fired = (log: number[], id: number) => ({ expire: () => void log.push(id) })

describe('DeadlineWatch', () => {
  it('fires a deadline once it has passed, never before', async () => {
    const clock = new FakeClock(1_000)
    const watch = new DeadlineWatch(clock, 5)
    const log: number[] = []
    watch.watch(1_050, fired(log, 1))
    await clock.advance(49)
    expect(log).toEqual([])
    await clock.advance(6)
    expect(log).toEqual([1])
    await clock.advance(1_000)
    expect(log).toEqual([1])
  })

  it('never fires a cancelled deadline and holds no bucket for it', async () => {
    const clock = new FakeClock(0)
    const watch = new DeadlineWatch(clock, 5)
    const log: number[] = []
    watch.watch(50, fired(log, 0))
    const a = watch.watch(100, fired(log, 1))
    await clock.advance(50) // the sweep for 50 puts the waiting one into a bucket
    expect(log).toEqual([0])
    expect(watch.pendingBuckets).toBe(1)
    a.cancel()
    expect(watch.pendingBuckets).toBe(0)
    const b = watch.watch(100, fired(log, 2))
    b.cancel() // cancelled while still young
    await clock.advance(500)
    expect(log).toEqual([0])
  })

  it('keeps a bucket while one of its entries still waits, and fires that one', async () => {
    const clock = new FakeClock(0)
    const watch = new DeadlineWatch(clock, 5)
    const log: number[] = []
    watch.watch(10, fired(log, 0))
    const a = watch.watch(100, fired(log, 1))
    watch.watch(99, fired(log, 2)) // the same 5 ms step as 100
    await clock.advance(10)
    expect(watch.pendingBuckets).toBe(1)
    a.cancel()
    expect(watch.pendingBuckets).toBe(1)
    await clock.advance(200)
    expect(log).toEqual([0, 2])
    expect(watch.pendingBuckets).toBe(0)
  })

  it('touches no timer while calls with one timeout come and go', async () => {
    const clock = new FakeClock(0)
    let scheduled = 0
    const counted = {
      now: () => clock.now(),
      setTimeout: (fn: () => void, ms: number) => {
        scheduled++
        return clock.setTimeout(fn, ms)
      },
      clearTimeout: (h: unknown) => clock.clearTimeout(h),
    }
    const w = new DeadlineWatch(counted, 5)
    for (let i = 0; i < 1_000; i++) {
      w.watch(clock.now() + 10_000, { expire() {} }).cancel()
      if (i % 100 === 0) await clock.advance(1)
    }
    expect(scheduled).toBe(1)
    expect(w.armed).toBe(true) // once, for the first deadline: later ones are no earlier
  })

  it('arms no delay longer than a timer can wait, for a deadline weeks away', async () => {
    const clock = new FakeClock(0)
    const delays: number[] = []
    const w = new DeadlineWatch(
      {
        now: () => clock.now(),
        setTimeout: (fn: () => void, ms: number) => {
          delays.push(ms)
          return clock.setTimeout(fn, ms)
        },
        clearTimeout: (h: unknown) => clock.clearTimeout(h),
      },
      5,
    )
    const log: number[] = []
    const month = 30 * 24 * 3600_000
    w.watch(month, fired(log, 1))
    await clock.advance(2 ** 31 - 1) // swept once, early: nothing is due yet
    expect(log).toEqual([])
    await clock.advance(month - (2 ** 31 - 1))
    expect(log).toEqual([1])
    expect(Math.max(...delays)).toBeLessThanOrEqual(2 ** 31 - 1)
  })

  it('keeps the process alive only while a deadline is live', () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    const before = timers()
    const watch = new DeadlineWatch({
      now: Date.now,
      setTimeout,
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    })
    const a = watch.watch(Date.now() + 60_000, { expire() {} })
    expect(timers()).toBe(before + 1)
    a.cancel()
    expect(watch.armed).toBe(true)
    expect(timers()).toBe(before) // armed, unref'd: nothing left to time out
    const b = watch.watch(Date.now() + 60_000, { expire() {} })
    expect(timers()).toBe(before + 1)
    b.cancel()
    watch.clear()
    expect(timers()).toBe(before)
  })

  it('ignores infinite deadlines', async () => {
    const clock = new FakeClock(0)
    const watch = new DeadlineWatch(clock)
    const log: number[] = []
    watch.watch(Number.POSITIVE_INFINITY, fired(log, 1))
    await clock.advance(1e9)
    expect(log).toEqual([])
    expect(watch.pendingBuckets).toBe(0)
  })

  it('fires every live deadline in any order of registration, within one resolution step late', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 500 }), cancel: fc.boolean() }), {
          maxLength: 40,
        }),
        async (entries) => {
          const clock = new FakeClock(0)
          const watch = new DeadlineWatch(clock, 5)
          const firedAt = new Map<number, number>()
          entries.forEach((e, i) => {
            const h = watch.watch(e.at, { expire: () => void firedAt.set(i, clock.now()) })
            if (e.cancel) h.cancel()
          })
          for (let t = 0; t < 520; t++) await clock.advance(1)
          entries.forEach((e, i) => {
            if (e.cancel) expect(firedAt.has(i)).toBe(false)
            else {
              const at = firedAt.get(i)
              expect(at).toBeDefined()
              expect(at!).toBeGreaterThanOrEqual(e.at)
              expect(at! - e.at).toBeLessThanOrEqual(6)
            }
          })
        },
      ),
      { numRuns: 30 },
    )
  })

  it('forgets finished entries during a long burst without a timer tick', () => {
    const clock = new FakeClock(0)
    const watch = new DeadlineWatch(clock)
    // 100k calls that all finish before any timer could run: memory must not grow with them.
    for (let i = 0; i < 100_000; i++) watch.watch(10_000, { expire() {} }).cancel()
    expect(watch.pendingYoung).toBeLessThanOrEqual(1_024)
  })
})
