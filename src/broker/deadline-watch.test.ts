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
    const a = watch.watch(100, fired(log, 1))
    await clock.advance(1) // promoted into a bucket
    expect(watch.pendingBuckets).toBe(1)
    a.cancel()
    expect(watch.pendingBuckets).toBe(0)
    const b = watch.watch(100, fired(log, 2))
    b.cancel() // cancelled while still young
    await clock.advance(500)
    expect(log).toEqual([])
  })

  it('keeps a bucket while one of its entries still waits, and fires that one', async () => {
    const clock = new FakeClock(0)
    const watch = new DeadlineWatch(clock, 5)
    const log: number[] = []
    const a = watch.watch(100, fired(log, 1))
    watch.watch(99, fired(log, 2)) // the same 5 ms step as 100
    await clock.advance(1)
    expect(watch.pendingBuckets).toBe(1)
    a.cancel()
    expect(watch.pendingBuckets).toBe(1)
    await clock.advance(200)
    expect(log).toEqual([2])
    expect(watch.pendingBuckets).toBe(0)
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
