import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createRetryBudget } from './retry-budget.ts'
import { FakeClock } from './testing/fake-clock.ts'

function drain(budget: { tryRetry(): boolean }, max = 10_000): number {
  let granted = 0
  while (granted < max && budget.tryRetry()) granted++
  return granted
}

describe('createRetryBudget', () => {
  it('allows minPerSecond retries with no traffic at all, then refuses', () => {
    const budget = createRetryBudget({ minPerSecond: 10, clock: new FakeClock() })
    expect(drain(budget)).toBe(10)
    expect(budget.tryRetry()).toBe(false)
  })

  it('refills the floor at minPerSecond per second, up to one second worth', async () => {
    const clock = new FakeClock()
    const budget = createRetryBudget({ minPerSecond: 10, clock })
    drain(budget)
    await clock.advance(500)
    expect(drain(budget)).toBe(5)
    await clock.advance(60_000)
    expect(drain(budget)).toBe(10)
  })

  it('earns one retry per five requests at ratio 0.2', () => {
    const budget = createRetryBudget({ ratio: 0.2, minPerSecond: 0, clock: new FakeClock() })
    for (let i = 0; i < 4; i++) budget.recordRequest()
    expect(budget.tryRetry()).toBe(false)
    budget.recordRequest()
    expect(budget.tryRetry()).toBe(true)
    expect(budget.tryRetry()).toBe(false)
    for (let i = 0; i < 100; i++) budget.recordRequest()
    expect(drain(budget)).toBe(20)
  })

  it('spends earned retries before touching the floor', () => {
    const budget = createRetryBudget({ ratio: 1, minPerSecond: 2, clock: new FakeClock() })
    budget.recordRequest()
    budget.recordRequest()
    expect(drain(budget)).toBe(4)
  })

  it('forgets earned retries after a long quiet spell', async () => {
    const clock = new FakeClock()
    const budget = createRetryBudget({ ratio: 0.5, minPerSecond: 0, decayMs: 1_000, clock })
    for (let i = 0; i < 100; i++) budget.recordRequest()
    await clock.advance(20_000) // e^-20 of 50 tokens is far below one
    expect(budget.tryRetry()).toBe(false)
  })

  it('treats a clock stepping backwards as standing still', () => {
    let now = 10_000
    const budget = createRetryBudget({ minPerSecond: 10, clock: { now: () => now } })
    drain(budget)
    now = 5_000
    expect(budget.tryRetry()).toBe(false)
    now = 10_000
    expect(budget.tryRetry()).toBe(false)
    now = 10_500
    expect(drain(budget)).toBe(5)
  })

  it('rejects nonsense options', () => {
    const clock = new FakeClock()
    expect(() => createRetryBudget({ ratio: -1, clock })).toThrow(RangeError)
    expect(() => createRetryBudget({ minPerSecond: Number.NaN, clock })).toThrow(RangeError)
    expect(() => createRetryBudget({ decayMs: 0, clock })).toThrow(RangeError)
  })

  it('never grants more than ratio * requests + minPerSecond * (elapsed seconds + 1)', () => {
    const op = fc.oneof(
      fc.record({ type: fc.constant('request' as const), n: fc.integer({ min: 1, max: 50 }) }),
      fc.record({ type: fc.constant('retry' as const), n: fc.integer({ min: 1, max: 50 }) }),
      fc.record({ type: fc.constant('advance' as const), n: fc.integer({ min: 0, max: 3_000 }) }),
    )
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.integer({ min: 0, max: 50 }),
        fc.array(op, { maxLength: 80 }),
        (ratio, minPerSecond, ops) => {
          let now = 0
          const budget = createRetryBudget({ ratio, minPerSecond, clock: { now: () => now } })
          let requests = 0
          let granted = 0
          let asked = 0
          for (const { type, n } of ops) {
            if (type === 'request') {
              for (let i = 0; i < n; i++) budget.recordRequest()
              requests += n
            } else if (type === 'retry') {
              for (let i = 0; i < n; i++) if (budget.tryRetry()) granted++
              asked += n
            } else {
              now += n
            }
            const bound = ratio * requests + minPerSecond * (now / 1000 + 1) + 1e-6 * asked
            expect(granted).toBeLessThanOrEqual(bound)
          }
        },
      ),
    )
  })

  it('grants every retry a steady ratio of traffic asks for, with no floor', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), (rounds) => {
        const budget = createRetryBudget({ ratio: 0.25, minPerSecond: 0, clock: new FakeClock() })
        for (let i = 0; i < rounds; i++) {
          for (let j = 0; j < 4; j++) budget.recordRequest()
          expect(budget.tryRetry()).toBe(true)
        }
        expect(budget.tryRetry()).toBe(false)
      }),
    )
  })
})
