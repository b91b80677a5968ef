import { afterEach, describe, expect, it, vi } from 'vitest'
import { laterTimer } from './later-timer.ts'

const DAY = 24 * 3600 * 1000

describe('laterTimer', () => {
  afterEach(() => vi.useRealTimers())

  it('fires at a time past setTimeout’s 24.8-day limit, not at once', () => {
    vi.useFakeTimers()
    const fired = vi.fn()
    laterTimer(Date.now() + 30 * DAY, fired)
    vi.advanceTimersByTime(29 * DAY)
    expect(fired).not.toHaveBeenCalled()
    vi.advanceTimersByTime(DAY)
    expect(fired).toHaveBeenCalledOnce()
  })

  it('fires on the next turn for a time already past, and never after clear()', () => {
    vi.useFakeTimers()
    const past = vi.fn()
    laterTimer(Date.now() - 1_000, past)
    expect(past).not.toHaveBeenCalled()
    vi.advanceTimersByTime(0)
    expect(past).toHaveBeenCalledOnce()
    const cleared = vi.fn()
    laterTimer(Date.now() + 1_000, cleared).clear()
    vi.advanceTimersByTime(2_000)
    expect(cleared).not.toHaveBeenCalled()
  })
})
