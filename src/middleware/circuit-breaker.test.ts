import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { BreakerPolicy } from '../contract/index.ts'
import { type ErrorCode, TesseraError } from '../errors/index.ts'
import { type BreakerChange, createBreakerRegistry } from './circuit-breaker.ts'
import { FakeClock } from './testing/fake-clock.ts'
import { makeCall } from './testing/make-call.ts'
import type { Call, Next } from './types.ts'

const policy: BreakerPolicy = { failureRatio: 0.5, minCalls: 4, windowMs: 10_000, openMs: 5_000 }

function callTo(nodeId = 'n1', service = 'users', breaker: BreakerPolicy | false = policy): Call {
  return makeCall({ service, endpoint: { nodeId, local: false }, policy: { breaker } })
}

const ok: Next = async () => 'ok'
const fail =
  (code: ErrorCode): Next =>
  async () => {
    throw new TesseraError(code, code)
  }

function setup(options: { onChange?: (c: BreakerChange) => void } = {}) {
  const clock = new FakeClock()
  const breakers = createBreakerRegistry({ clock, ...options })
  const mw = breakers.middleware()
  const run = (next: Next, call = callTo()) => mw(call, next).catch((err: unknown) => err)
  return { clock, breakers, mw, run }
}

async function openCircuit(run: (next: Next) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < policy.minCalls; i++) await run(fail('UNAVAILABLE'))
}

describe('createBreakerRegistry', () => {
  it('stays closed until minCalls outcomes are in the window, even when all fail', async () => {
    const { breakers, run } = setup()
    for (let i = 0; i < policy.minCalls - 1; i++) await run(fail('UNAVAILABLE'))
    expect(breakers.state('users', 'n1')).toBe('closed')
    await run(fail('UNAVAILABLE'))
    expect(breakers.state('users', 'n1')).toBe('open')
  })

  it('opens when the failure ratio reaches failureRatio', async () => {
    const { breakers, run } = setup()
    await run(ok)
    await run(ok)
    await run(fail('TIMEOUT'))
    expect(breakers.state('users', 'n1')).toBe('closed')
    await run(fail('OVERLOADED')) // 2 of 4 = 0.5
    expect(breakers.state('users', 'n1')).toBe('open')
  })

  it('stays closed while the failure ratio is below failureRatio', async () => {
    const { breakers, run } = setup()
    for (let i = 0; i < 20; i++) await run(i % 3 === 2 ? fail('INTERNAL') : ok)
    expect(breakers.state('users', 'n1')).toBe('closed')
  })

  it('fails fast with CIRCUIT_OPEN naming the endpoint while open', async () => {
    const { run } = setup()
    await openCircuit(run)
    let reached = false
    const err = await run(async () => {
      reached = true
    })
    expect(reached).toBe(false)
    expect(err).toBeInstanceOf(TesseraError)
    expect(err).toMatchObject({ code: 'CIRCUIT_OPEN', data: { service: 'users', nodeId: 'n1' } })
  })

  it('counts caller mistakes as successes, so they never open the circuit', async () => {
    const { breakers, run } = setup()
    for (const code of ['VALIDATION', 'NOT_FOUND', 'FORBIDDEN', 'CONFLICT', 'BAD_REQUEST'] as const) {
      for (let i = 0; i < 5; i++) await run(fail(code))
    }
    expect(breakers.state('users', 'n1')).toBe('closed')
  })

  it('counts unknown throws as failures', async () => {
    const { breakers, run } = setup()
    for (let i = 0; i < policy.minCalls; i++) {
      await run(async () => {
        throw new Error('boom')
      })
    }
    expect(breakers.state('users', 'n1')).toBe('open')
  })

  it('counts cancelled calls as nothing', async () => {
    const { breakers, run } = setup()
    for (let i = 0; i < 10; i++) await run(fail('CANCELLED'))
    await run(fail('UNAVAILABLE'))
    await run(fail('UNAVAILABLE'))
    await run(fail('UNAVAILABLE'))
    expect(breakers.state('users', 'n1')).toBe('closed') // 3 counted outcomes < minCalls
  })

  it('returns the result and rethrows the very error of the call', async () => {
    const { mw } = setup()
    expect(await mw(callTo(), ok)).toBe('ok')
    const boom = new TesseraError('UNAVAILABLE', 'down')
    await expect(
      mw(callTo(), async () => {
        throw boom
      }),
    ).rejects.toBe(boom)
  })

  it('forgets failures older than the window', async () => {
    const { clock, breakers, run } = setup()
    for (let i = 0; i < policy.minCalls - 1; i++) await run(fail('UNAVAILABLE'))
    await clock.advance(policy.windowMs + 1)
    await run(fail('UNAVAILABLE'))
    expect(breakers.state('users', 'n1')).toBe('closed')
  })

  it('goes half-open after openMs and lets exactly one trial call through', async () => {
    const { clock, breakers, mw, run } = setup()
    await openCircuit(run)
    await clock.advance(policy.openMs - 1)
    expect(breakers.state('users', 'n1')).toBe('open')
    await clock.advance(1)
    expect(breakers.state('users', 'n1')).toBe('half-open')
    let release: () => void = () => {}
    let reached = 0
    const trial = mw(callTo(), () => {
      reached++
      return new Promise((resolve) => {
        release = () => resolve('trial ok')
      })
    })
    const others = await Promise.all([run(ok), run(ok), run(ok)])
    expect(reached).toBe(1)
    for (const err of others) expect(err).toMatchObject({ code: 'CIRCUIT_OPEN' })
    release()
    expect(await trial).toBe('trial ok')
  })

  it('closes after a successful trial, with an empty window', async () => {
    const { clock, breakers, run } = setup()
    await openCircuit(run)
    await clock.advance(policy.openMs)
    expect(await run(ok)).toBe('ok')
    expect(breakers.state('users', 'n1')).toBe('closed')
    for (let i = 0; i < policy.minCalls - 1; i++) await run(fail('UNAVAILABLE'))
    expect(breakers.state('users', 'n1')).toBe('closed')
  })

  it('closes after a trial that fails for the caller’s own fault', async () => {
    const { clock, breakers, run } = setup()
    await openCircuit(run)
    await clock.advance(policy.openMs)
    await run(fail('VALIDATION'))
    expect(breakers.state('users', 'n1')).toBe('closed')
  })

  it('re-opens for another openMs after a failed trial', async () => {
    const { clock, breakers, run } = setup()
    await openCircuit(run)
    await clock.advance(policy.openMs)
    await run(fail('TIMEOUT'))
    expect(breakers.state('users', 'n1')).toBe('open')
    await clock.advance(policy.openMs - 1)
    expect(breakers.state('users', 'n1')).toBe('open')
    await clock.advance(1)
    expect(breakers.state('users', 'n1')).toBe('half-open')
  })

  it('frees the trial slot when the trial is cancelled', async () => {
    const { clock, breakers, run } = setup()
    await openCircuit(run)
    await clock.advance(policy.openMs)
    await run(fail('CANCELLED'))
    expect(breakers.state('users', 'n1')).toBe('half-open')
    expect(breakers.isAvailable('users', 'n1')).toBe(true)
    expect(await run(ok)).toBe('ok')
    expect(breakers.state('users', 'n1')).toBe('closed')
  })

  it('ignores the outcome of calls admitted before the circuit opened', async () => {
    const { clock, breakers, mw, run } = setup()
    let finishSlow: () => void = () => {}
    const slow = mw(
      callTo(),
      () =>
        new Promise((resolve) => {
          finishSlow = () => resolve('late')
        }),
    )
    await openCircuit(run)
    await clock.advance(policy.openMs)
    expect(breakers.state('users', 'n1')).toBe('half-open')
    finishSlow()
    expect(await slow).toBe('late')
    expect(breakers.state('users', 'n1')).toBe('half-open') // not closed by a stale success
  })

  it('keeps one breaker per service and node', async () => {
    const { breakers, run } = setup()
    await openCircuit(run)
    expect(breakers.state('users', 'n1')).toBe('open')
    expect(breakers.state('users', 'n2')).toBe('closed')
    expect(breakers.state('orders', 'n1')).toBe('closed')
    expect(await run(ok, callTo('n2'))).toBe('ok')
    expect(await run(ok, callTo('n1', 'orders'))).toBe('ok')
  })

  it('reports availability for the balancer', async () => {
    const { clock, breakers, mw, run } = setup()
    expect(breakers.isAvailable('users', 'never-called')).toBe(true)
    await openCircuit(run)
    expect(breakers.isAvailable('users', 'n1')).toBe(false)
    await clock.advance(policy.openMs)
    expect(breakers.isAvailable('users', 'n1')).toBe(true)
    let release: () => void = () => {}
    const trial = mw(callTo(), () => new Promise((resolve) => (release = () => resolve(1))))
    expect(breakers.isAvailable('users', 'n1')).toBe(false)
    release()
    await trial
    expect(breakers.isAvailable('users', 'n1')).toBe(true)
  })

  it('forgets every breaker of a node that left', async () => {
    const { breakers, run } = setup()
    await openCircuit(run)
    await openCircuit((next) => run(next, callTo('n1', 'orders')))
    await openCircuit((next) => run(next, callTo('n2')))
    breakers.forget('n1')
    expect(breakers.state('users', 'n1')).toBe('closed')
    expect(breakers.state('orders', 'n1')).toBe('closed')
    expect(breakers.state('users', 'n2')).toBe('open')
  })

  it('passes calls through when the policy disables the breaker or no endpoint is chosen', async () => {
    const { breakers, mw } = setup()
    for (let i = 0; i < 10; i++) {
      await mw(callTo('n1', 'users', false), fail('UNAVAILABLE')).catch(() => {})
      await mw(makeCall(), fail('UNAVAILABLE')).catch(() => {})
    }
    expect(breakers.state('users', 'n1')).toBe('closed')
    expect(breakers.isAvailable('users', 'n1')).toBe(true)
  })

  it('reports each state change', async () => {
    const changes: string[] = []
    const { clock, run } = setup({ onChange: (c) => changes.push(`${c.type} ${c.service}@${c.nodeId}`) })
    await openCircuit(run)
    await clock.advance(policy.openMs)
    await run(fail('UNAVAILABLE'))
    await clock.advance(policy.openMs)
    await run(ok)
    expect(changes).toEqual([
      'opened users@n1',
      'half-opened users@n1',
      'opened users@n1',
      'half-opened users@n1',
      'closed users@n1',
    ])
  })

  describe('properties', () => {
    const outcome = fc.constantFrom<ErrorCode | 'ok'>(
      'ok',
      'UNAVAILABLE',
      'TIMEOUT',
      'VALIDATION',
      'CANCELLED',
    )
    const breakerPolicy = fc.record({
      failureRatio: fc.double({ min: 0.05, max: 1, noNaN: true }),
      minCalls: fc.integer({ min: 1, max: 12 }),
      windowMs: fc.integer({ min: 10, max: 5_000 }),
      openMs: fc.integer({ min: 1, max: 5_000 }),
    })
    const nextFor = (o: ErrorCode | 'ok'): Next => (o === 'ok' ? ok : fail(o))

    it('matches a simple model while time stands still', async () => {
      await fc.assert(
        fc.asyncProperty(breakerPolicy, fc.array(outcome, { maxLength: 60 }), async (p, outcomes) => {
          const { breakers, mw } = setup()
          let failures = 0
          let total = 0
          let open = false
          for (const o of outcomes) {
            let reached = false
            const result = await mw(callTo('n1', 'users', p), (call) => {
              reached = true
              return nextFor(o)(call)
            }).catch((e: unknown) => e)
            expect(reached).toBe(!open)
            if (open) {
              expect(result).toMatchObject({ code: 'CIRCUIT_OPEN' })
            } else if (o !== 'CANCELLED') {
              total++
              if (o === 'UNAVAILABLE' || o === 'TIMEOUT') failures++
              open = total >= p.minCalls && failures >= p.failureRatio * total
            }
            expect(breakers.state('users', 'n1')).toBe(open ? 'open' : 'closed')
          }
        }),
      )
    })

    type Op = { type: 'call'; outcome: ErrorCode | 'ok' } | { type: 'advance'; ms: number }
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: outcome.map((o) => ({ type: 'call' as const, outcome: o })) },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 0, max: 3_000 }).map((ms) => ({ type: 'advance' as const, ms })),
      },
    )

    it('never opens before minCalls counted outcomes since it last closed, and never calls through while open', async () => {
      await fc.assert(
        fc.asyncProperty(breakerPolicy, fc.array(op, { maxLength: 80 }), async (p, ops) => {
          const { clock, breakers, mw } = setup()
          let counted = 0
          for (const o of ops) {
            if (o.type === 'advance') {
              await clock.advance(o.ms)
              continue
            }
            const before = breakers.state('users', 'n1')
            if (before === 'closed' && o.outcome !== 'CANCELLED') counted++
            let reached = false
            await mw(callTo('n1', 'users', p), (call) => {
              reached = true
              return nextFor(o.outcome)(call)
            }).catch(() => {})
            expect(reached).toBe(before !== 'open')
            const after = breakers.state('users', 'n1')
            if (before === 'closed' && after === 'open') expect(counted).toBeGreaterThanOrEqual(p.minCalls)
            if (before !== 'closed' && after === 'closed') counted = 0
          }
        }),
      )
    })

    it('admits exactly one of any number of concurrent calls while half-open, and closes on its success', async () => {
      await fc.assert(
        fc.asyncProperty(breakerPolicy, fc.integer({ min: 1, max: 30 }), async (p, concurrent) => {
          const { clock, breakers, mw } = setup()
          for (let i = 0; i < p.minCalls; i++) {
            await mw(callTo('n1', 'users', p), fail('UNAVAILABLE')).catch(() => {})
          }
          expect(breakers.state('users', 'n1')).toBe('open')
          await clock.advance(p.openMs)
          const releases: (() => void)[] = []
          const pending = Array.from({ length: concurrent }, () =>
            mw(
              callTo('n1', 'users', p),
              () => new Promise((resolve) => releases.push(() => resolve('ok'))),
            ).catch((e: unknown) => e),
          )
          await Promise.resolve()
          expect(releases).toHaveLength(1)
          for (const release of releases) release()
          const results = await Promise.all(pending)
          expect(results.filter((r) => r === 'ok')).toHaveLength(1)
          expect(results.filter((r) => r instanceof TesseraError && r.code === 'CIRCUIT_OPEN')).toHaveLength(
            concurrent - 1,
          )
          expect(breakers.state('users', 'n1')).toBe('closed')
        }),
      )
    })
  })
})
