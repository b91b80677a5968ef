import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoff.ts'

const policy = { baseDelay: 25, maxDelay: 1_000 }

describe('backoffDelay', () => {
  it('waits nothing when the jitter draws 0', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(0)
  })

  it('doubles the ceiling with each attempt', () => {
    const almostOne = () => 0.999999
    expect(backoffDelay(1, policy, almostOne)).toBe(24)
    expect(backoffDelay(2, policy, almostOne)).toBe(49)
    expect(backoffDelay(3, policy, almostOne)).toBe(99)
    expect(backoffDelay(4, policy, almostOne)).toBe(199)
  })

  it('scales the jitter linearly inside the ceiling', () => {
    expect(backoffDelay(3, policy, () => 0.5)).toBe(50)
  })

  it('caps the ceiling at maxDelay', () => {
    expect(backoffDelay(10, policy, () => 0.5)).toBe(500)
    expect(backoffDelay(10_000, policy, () => 0.5)).toBe(500)
  })

  it('treats attempts below 1 as the first retry', () => {
    expect(backoffDelay(0, policy, () => 0.5)).toBe(12)
    expect(backoffDelay(-5, policy, () => 0.5)).toBe(12)
    expect(backoffDelay(Number.NaN, policy, () => 0.5)).toBe(12)
  })

  it('treats negative or non-finite delays as no wait', () => {
    expect(backoffDelay(3, { baseDelay: -10, maxDelay: 1_000 }, () => 0.5)).toBe(0)
    expect(backoffDelay(3, { baseDelay: 10, maxDelay: Number.NaN }, () => 0.5)).toBe(0)
    expect(backoffDelay(3, { baseDelay: Number.POSITIVE_INFINITY, maxDelay: 100 }, () => 0.5)).toBe(0)
  })

  it('clamps a random source that strays outside [0, 1)', () => {
    expect(backoffDelay(1, policy, () => 1)).toBe(24)
    expect(backoffDelay(1, policy, () => 7)).toBe(24)
    expect(backoffDelay(1, policy, () => -1)).toBe(0)
    expect(backoffDelay(1, policy, () => Number.NaN)).toBe(0)
  })

  it('always stays within [0, min(maxDelay, base * 2^(n-1))]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000 }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e7, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseDelay, maxDelay, r) => {
          const delay = backoffDelay(attempt, { baseDelay, maxDelay }, () => r)
          const ceiling = baseDelay === 0 ? 0 : Math.min(maxDelay, baseDelay * 2 ** (attempt - 1))
          expect(Number.isInteger(delay)).toBe(true)
          expect(delay).toBeGreaterThanOrEqual(0)
          expect(delay).toBeLessThanOrEqual(ceiling)
        },
      ),
    )
  })

  it('uses Math.random when no source is given, staying in range', () => {
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(2, policy)
      expect(delay).toBeGreaterThanOrEqual(0)
      expect(delay).toBeLessThan(50)
    }
  })
})
