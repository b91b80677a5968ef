import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type ErrorCode, TesseraError } from '../errors/index.ts'
import { retry } from './retry.ts'
import { createRetryBudget, type RetryBudget } from './retry-budget.ts'
import { FakeClock } from './testing/fake-clock.ts'
import { makeCall } from './testing/make-call.ts'
import type { Call } from './types.ts'

const unlimited: RetryBudget = { recordRequest: () => {}, tryRetry: () => true }
const noJitter = () => 0

function failing(...codes: ErrorCode[]): { next: (call: Call) => Promise<unknown>; seen: Call[] } {
  const seen: Call[] = []
  const next = async (call: Call) => {
    seen.push(call)
    const code = codes[seen.length - 1]
    if (code === undefined) return `ok on attempt ${call.attempt}`
    throw new TesseraError(code, `attempt ${call.attempt} failed`)
  }
  return { next, seen }
}

function retryPolicy(attempts: number, baseDelay = 10, maxDelay = 1_000) {
  return { retry: { attempts, baseDelay, maxDelay } }
}

describe('retry', () => {
  it('retries UNAVAILABLE twice, then surfaces the error', async () => {
    const clock = new FakeClock()
    const { next, seen } = failing('UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE')
    const mw = retry({ budget: unlimited, clock, random: noJitter })
    const result = mw(makeCall({ policy: retryPolicy(3) }), next)
    await expect(result).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'attempt 3 failed' })
    expect(seen.map((c) => c.attempt)).toEqual([1, 2, 3])
  })

  it('returns the first success, passing a copy with the next attempt number and the same tried list', async () => {
    const clock = new FakeClock()
    const { next, seen } = failing('OVERLOADED', 'CIRCUIT_OPEN')
    const call = makeCall({ policy: retryPolicy(5) })
    const result = await retry({ budget: unlimited, clock, random: noJitter })(call, next)
    expect(result).toBe('ok on attempt 3')
    expect(seen.map((c) => c.attempt)).toEqual([1, 2, 3])
    expect(seen[0]).toBe(call)
    expect(seen[1]).not.toBe(call)
    for (const c of seen) expect(c.tried).toBe(call.tried)
    expect(call.attempt).toBe(1)
  })

  it('never retries a non-idempotent call, whatever the error', async () => {
    for (const code of ['UNAVAILABLE', 'OVERLOADED', 'CIRCUIT_OPEN'] as const) {
      const { next, seen } = failing(code, code)
      const mw = retry({ budget: unlimited, clock: new FakeClock(), random: noJitter })
      await expect(mw(makeCall({ idempotent: false }), next)).rejects.toMatchObject({ code })
      expect(seen).toHaveLength(1)
    }
  })

  it('does not retry errors that are not retryable', async () => {
    for (const code of ['VALIDATION', 'NOT_FOUND', 'TIMEOUT', 'INTERNAL', 'CANCELLED'] as const) {
      const { next, seen } = failing(code, code)
      const mw = retry({ budget: unlimited, clock: new FakeClock(), random: noJitter })
      await expect(mw(makeCall(), next)).rejects.toMatchObject({ code })
      expect(seen).toHaveLength(1)
    }
  })

  it('does not retry plain errors, and rethrows them unchanged', async () => {
    const boom = new Error('boom')
    let calls = 0
    const mw = retry({ budget: unlimited, clock: new FakeClock(), random: noJitter })
    const result = mw(makeCall(), async () => {
      calls++
      throw boom
    })
    await expect(result).rejects.toBe(boom)
    expect(calls).toBe(1)
  })

  it('makes a single attempt when the policy allows one', async () => {
    const { next, seen } = failing('UNAVAILABLE')
    const mw = retry({ budget: unlimited, clock: new FakeClock(), random: noJitter })
    await expect(mw(makeCall({ policy: retryPolicy(1) }), next)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    })
    expect(seen).toHaveLength(1)
  })

  it('waits the backoff on the injected clock before the next attempt', async () => {
    const clock = new FakeClock()
    const { next, seen } = failing('UNAVAILABLE')
    // random 0.5 with base 100: the first backoff is 50 ms.
    const mw = retry({ budget: unlimited, clock, random: () => 0.5 })
    const result = mw(makeCall({ policy: retryPolicy(3, 100) }), next)
    await clock.advance(49)
    expect(seen).toHaveLength(1)
    await clock.advance(1)
    expect(seen).toHaveLength(2)
    await expect(result).resolves.toBe('ok on attempt 2')
  })

  it('gives up when the backoff would end at or after the deadline', async () => {
    const clock = new FakeClock(1_000)
    const { next, seen } = failing('UNAVAILABLE')
    const mw = retry({ budget: unlimited, clock, random: () => 0.5 })
    // backoff 50 ms; 1_000 + 50 is not before the deadline 1_050.
    const result = mw(makeCall({ deadline: 1_050, policy: retryPolicy(3, 100) }), next)
    await expect(result).rejects.toMatchObject({ code: 'UNAVAILABLE' })
    expect(seen).toHaveLength(1)
    expect(clock.pending).toBe(0)
  })

  it('retries when the backoff ends just before the deadline', async () => {
    const clock = new FakeClock(1_000)
    const { next } = failing('UNAVAILABLE')
    const mw = retry({ budget: unlimited, clock, random: () => 0.5 })
    const result = mw(makeCall({ deadline: 1_051, policy: retryPolicy(3, 100) }), next)
    await clock.advance(50)
    await expect(result).resolves.toBe('ok on attempt 2')
  })

  it('stops retrying when the budget refuses', async () => {
    const clock = new FakeClock()
    const budget = createRetryBudget({ ratio: 0, minPerSecond: 1, clock })
    const mw = retry({ budget, clock, random: noJitter })
    const first = failing('UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE')
    await expect(mw(makeCall({ policy: retryPolicy(3) }), first.next)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    })
    expect(first.seen).toHaveLength(2)
    const second = failing('UNAVAILABLE')
    await expect(mw(makeCall(), second.next)).rejects.toMatchObject({ code: 'UNAVAILABLE' })
    expect(second.seen).toHaveLength(1)
  })

  it('deposits first attempts in the budget and asks it only for retries it would make', async () => {
    const log: string[] = []
    const budget: RetryBudget = {
      recordRequest: () => {
        log.push('request')
      },
      tryRetry: () => {
        log.push('retry')
        return true
      },
    }
    const clock = new FakeClock(0)
    const mw = retry({ budget, clock, random: noJitter })
    await mw(makeCall({ policy: retryPolicy(3) }), failing('UNAVAILABLE').next)
    expect(log).toEqual(['request', 'retry'])
    log.length = 0
    // A retry that cannot fit before the deadline must not cost a token.
    await expect(
      mw(makeCall({ deadline: 0, policy: retryPolicy(3) }), failing('UNAVAILABLE').next),
    ).rejects.toThrow()
    expect(log).toEqual(['request'])
    log.length = 0
    // An attempt that enters already retried (attempt 2) is not a new request.
    await mw(makeCall({ attempt: 2 }), failing().next)
    expect(log).toEqual([])
  })

  it('rejects with the last error as soon as the signal aborts during the backoff', async () => {
    const clock = new FakeClock()
    const controller = new AbortController()
    const { next, seen } = failing('UNAVAILABLE')
    const mw = retry({ budget: unlimited, clock, random: () => 0.5 })
    const result = mw(makeCall({ signal: controller.signal, policy: retryPolicy(3, 1_000) }), next)
    await clock.advance(10)
    expect(clock.pending).toBe(1)
    controller.abort()
    await expect(result).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'attempt 1 failed' })
    expect(clock.pending).toBe(0)
    await clock.advance(10_000)
    expect(seen).toHaveLength(1)
  })

  it('does not retry when the signal had already aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    const { next, seen } = failing('UNAVAILABLE')
    const mw = retry({ budget: unlimited, clock: new FakeClock(), random: noJitter })
    await expect(mw(makeCall({ signal: controller.signal }), next)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    })
    expect(seen).toHaveLength(1)
  })

  it('makes exactly min(attempts, failures + 1) attempts for any run of retryable failures', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.constantFrom<ErrorCode>('UNAVAILABLE', 'OVERLOADED', 'CIRCUIT_OPEN'), { maxLength: 8 }),
        async (attempts, codes) => {
          const { next, seen } = failing(...codes)
          const mw = retry({ budget: unlimited, clock: new FakeClock(), random: noJitter })
          const outcome = await mw(makeCall({ policy: retryPolicy(attempts) }), next).then(
            (value) => ({ ok: true, value }),
            (error: unknown) => ({ ok: false, value: error }),
          )
          expect(seen).toHaveLength(Math.min(attempts, codes.length + 1))
          expect(outcome.ok).toBe(codes.length < attempts)
          expect(seen.map((c) => c.attempt)).toEqual(seen.map((_, i) => i + 1))
        },
      ),
    )
  })
})
