import { describe, expect, it } from 'vitest'
import { CrashHistory } from './crash-history.ts'

const policy = { baseDelayMs: 100, maxDelayMs: 1000, crashLoopCrashes: 5, crashLoopWindowMs: 30_000 }

describe('CrashHistory', () => {
  it('doubles the restart delay per recent crash, capped', () => {
    const h = new CrashHistory({ ...policy, crashLoopCrashes: 99 })
    const delays = [0, 1, 2, 3, 4, 5].map((i) => h.record(i))
    expect(delays.map((v) => (v.type === 'restart' ? v.delayMs : -1))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ])
  })

  it('restarts after the first crash at once when firstDelayMs is 0, then backs off from the base', () => {
    const h = new CrashHistory({ ...policy, firstDelayMs: 0, crashLoopCrashes: 99 })
    const delays = [0, 1, 2, 3, 4].map((i) => h.record(i))
    expect(delays.map((v) => (v.type === 'restart' ? v.delayMs : -1))).toEqual([0, 100, 200, 400, 800])
  })

  it('calls five crashes within the window a crash loop', () => {
    const h = new CrashHistory(policy)
    for (let i = 0; i < 4; i++) expect(h.record(i * 1000).type).toBe('restart')
    expect(h.record(5000)).toEqual({ type: 'crash-loop', recentCrashes: 5 })
  })

  it('forgets crashes older than the window', () => {
    const h = new CrashHistory(policy)
    for (let i = 0; i < 4; i++) h.record(i)
    expect(h.record(40_000)).toEqual({ type: 'restart', delayMs: 100, recentCrashes: 1 })
  })
})
