import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RollingWindow } from './rolling-window.ts'

describe('RollingWindow', () => {
  it('counts failures and totals added inside the window', () => {
    const w = new RollingWindow(1_000)
    w.add(0, true)
    w.add(150, false)
    w.add(999, true)
    expect(w.totals(999)).toEqual({ failures: 2, total: 3 })
  })

  it('drops a bucket once its slot of time has left the window', () => {
    const w = new RollingWindow(1_000) // buckets of 100 ms
    w.add(50, true)
    w.add(150, false)
    expect(w.totals(999)).toEqual({ failures: 1, total: 2 })
    expect(w.totals(1_000)).toEqual({ failures: 0, total: 1 })
    expect(w.totals(1_100)).toEqual({ failures: 0, total: 0 })
  })

  it('reuses a ring slot for a new time without keeping old counts', () => {
    const w = new RollingWindow(1_000)
    w.add(50, true)
    w.add(1_050, false) // same ring index, ten buckets later
    expect(w.totals(1_050)).toEqual({ failures: 0, total: 1 })
  })

  it('forgets everything on reset', () => {
    const w = new RollingWindow(1_000)
    w.add(10, true)
    w.reset()
    expect(w.totals(10)).toEqual({ failures: 0, total: 0 })
  })

  it('treats time going backwards as the latest time seen', () => {
    const w = new RollingWindow(1_000)
    w.add(5_000, true)
    w.add(100, true) // counted at 5_000
    expect(w.totals(0)).toEqual({ failures: 2, total: 2 })
  })

  it('counts exactly the events within the last windowMs, give or take one bucket', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 10_000 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.boolean()), { maxLength: 100 }),
        (windowMs, steps) => {
          const w = new RollingWindow(windowMs)
          const step = windowMs / 10
          const events: { at: number; failed: boolean }[] = []
          let now = 0
          for (const [dt, failed] of steps) {
            now += dt
            w.add(now, failed)
            events.push({ at: now, failed })
            const { failures, total } = w.totals(now)
            const surely = events.filter((e) => e.at > now - windowMs + step)
            const maybe = events.filter((e) => e.at > now - windowMs - step)
            expect(total).toBeGreaterThanOrEqual(surely.length)
            expect(total).toBeLessThanOrEqual(maybe.length)
            expect(failures).toBeGreaterThanOrEqual(surely.filter((e) => e.failed).length)
            expect(failures).toBeLessThanOrEqual(maybe.filter((e) => e.failed).length)
          }
        },
      ),
    )
  })
})
