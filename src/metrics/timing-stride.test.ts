import { describe, expect, it } from 'vitest'
import { TimingStride } from './timing-stride.ts'

/** Runs `hops` hops `gapMs` apart on a fake clock; returns how many were timed. */
function drive(stride: TimingStride, clock: { ms: number }, hops: number, gapMs: number): number {
  let timed = 0
  for (let i = 0; i < hops; i++) {
    clock.ms += gapMs
    if (stride.next()) timed++
  }
  return timed
}

describe('TimingStride', () => {
  it('times every hop of a series running under a thousand a second', () => {
    const clock = { ms: 0 }
    const stride = new TimingStride(() => clock.ms)
    expect(drive(stride, clock, 5_000, 2)).toBe(5_000)
    expect(stride.stride).toBe(1)
  })

  it('times 1 in a power of two at a high rate, about a thousand a second', () => {
    const clock = { ms: 0 }
    const stride = new TimingStride(() => clock.ms)
    // One hop per microsecond: a million a second, so a stride of 1 024.
    drive(stride, clock, 100_000, 0.001)
    expect(stride.stride).toBe(1_024)
    const timed = drive(stride, clock, 1_024_000, 0.001)
    expect(timed).toBe(1_000)
  })

  it('goes back to timing every hop once the rate falls', () => {
    const clock = { ms: 0 }
    const stride = new TimingStride(() => clock.ms)
    drive(stride, clock, 100_000, 0.001)
    expect(stride.stride).toBeGreaterThan(1)
    // Ten a second: the next timed hop measures the slow rate and the stride drops to 1.
    drive(stride, clock, 3 * 1_024, 100)
    expect(stride.stride).toBe(1)
    expect(drive(stride, clock, 100, 100)).toBe(100)
  })

  it('does not flap for a rate near a boundary', () => {
    const clock = { ms: 0 }
    const stride = new TimingStride(() => clock.ms)
    // 3 000 a second wants a stride of 3: 4; 1 500 a second (wants 1.5) keeps it.
    drive(stride, clock, 20_000, 1 / 3)
    expect(stride.stride).toBe(4)
    drive(stride, clock, 20_000, 1 / 1.5)
    expect(stride.stride).toBe(4)
  })
})
