import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { deadlineFromRemaining, nestedDeadline, remainingMs } from './deadline.ts'

const time = fc.integer({ min: 0, max: 2 ** 40 })
const maybeTimeout = fc.option(fc.integer({ min: -1_000, max: 10_000_000 }), { nil: undefined })

describe('nestedDeadline', () => {
  it('takes the timeout from now when there is no parent', () => {
    expect(nestedDeadline(1_000, undefined, 250)).toBe(1_250)
  })

  it('keeps the parent deadline when it is earlier than the own timeout', () => {
    expect(nestedDeadline(1_000, 1_100, 250)).toBe(1_100)
  })

  it('is infinite with neither parent nor timeout', () => {
    expect(nestedDeadline(1_000, undefined, undefined)).toBe(Number.POSITIVE_INFINITY)
  })

  it('treats a negative timeout as already due', () => {
    expect(nestedDeadline(1_000, undefined, -50)).toBe(1_000)
  })

  it('never exceeds the parent deadline, nor now + timeout', () => {
    fc.assert(
      fc.property(time, fc.option(time, { nil: undefined }), maybeTimeout, (now, parent, timeout) => {
        const nested = nestedDeadline(now, parent, timeout)
        if (parent !== undefined) expect(nested).toBeLessThanOrEqual(parent)
        if (timeout !== undefined) expect(nested).toBeLessThanOrEqual(now + Math.max(0, timeout))
        if (parent === undefined && timeout === undefined) expect(nested).toBe(Number.POSITIVE_INFINITY)
      }),
    )
  })

  it('only shrinks along a chain of nested calls', () => {
    fc.assert(
      fc.property(time, fc.array(fc.tuple(fc.nat(1_000), maybeTimeout), { maxLength: 20 }), (start, hops) => {
        let now = start
        let deadline: number | undefined
        for (const [elapsed, timeout] of hops) {
          now += elapsed
          const next = nestedDeadline(now, deadline, timeout)
          if (deadline !== undefined) expect(next).toBeLessThanOrEqual(deadline)
          deadline = next
        }
      }),
    )
  })
})

describe('remainingMs', () => {
  it('is the time left until the deadline', () => {
    expect(remainingMs(1_000, 1_250)).toBe(250)
  })

  it('is zero once the deadline has passed', () => {
    expect(remainingMs(2_000, 1_250)).toBe(0)
  })

  it('is never negative', () => {
    fc.assert(
      fc.property(time, time, (now, deadline) => {
        expect(remainingMs(now, deadline)).toBeGreaterThanOrEqual(0)
      }),
    )
  })
})

describe('deadlineFromRemaining', () => {
  it('re-anchors the remaining budget on the local clock', () => {
    expect(deadlineFromRemaining(5_000, 250)).toBe(5_250)
  })

  it('treats a negative remaining budget as already due', () => {
    expect(deadlineFromRemaining(5_000, -10)).toBe(5_000)
  })

  it('round-trips exactly through remaining and re-anchoring at equal clocks', () => {
    fc.assert(
      fc.property(time, fc.integer({ min: 0, max: 2 ** 40 }), (now, ahead) => {
        const deadline = now + ahead
        expect(deadlineFromRemaining(now, remainingMs(now, deadline))).toBe(deadline)
      }),
    )
  })

  it('lands on "now" for a deadline already past, never before it', () => {
    fc.assert(
      fc.property(time, fc.nat(2 ** 30), (now, behind) => {
        expect(deadlineFromRemaining(now, remainingMs(now, now - behind))).toBe(now)
      }),
    )
  })

  it('is unaffected by clock skew between sender and receiver', () => {
    fc.assert(
      fc.property(time, time, fc.nat(1_000_000), (senderNow, receiverNow, left) => {
        const senderDeadline = senderNow + left
        const receiverDeadline = deadlineFromRemaining(receiverNow, remainingMs(senderNow, senderDeadline))
        expect(remainingMs(receiverNow, receiverDeadline)).toBe(left)
      }),
    )
  })
})
