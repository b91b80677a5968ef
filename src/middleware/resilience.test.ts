import { describe, expect, it } from 'vitest'
import { TesseraError } from '../errors/index.ts'
import { excludeTried, excludeUnavailable, roundRobin } from '../registry/index.ts'
import { createBreakerRegistry } from './circuit-breaker.ts'
import { fallback } from './fallback.ts'
import { pipeline } from './pipeline.ts'
import { retry } from './retry.ts'
import { createRetryBudget } from './retry-budget.ts'
import { FakeClock } from './testing/fake-clock.ts'
import { makeCall } from './testing/make-call.ts'
import type { Call, Endpoint, Middleware } from './types.ts'

/** The policies composed the way a broker would, with a test-local balancing step. */
function setup(down: Set<string>) {
  const clock = new FakeClock()
  const endpoints: Endpoint[] = ['a', 'b', 'c'].map((nodeId) => ({ nodeId, local: false }))
  const breakers = createBreakerRegistry({ clock })
  const choose = excludeUnavailable(breakers.isAvailable, excludeTried(roundRobin()))
  const balance: Middleware = (call, next) => {
    const endpoint = choose(endpoints, call)
    if (!endpoint) throw new TesseraError('UNAVAILABLE', 'no endpoint')
    call.tried.push(endpoint.nodeId)
    return next({ ...call, endpoint })
  }
  const sent: string[] = []
  const transport = async (call: Call) => {
    const nodeId = call.endpoint!.nodeId
    sent.push(nodeId)
    if (down.has(nodeId)) throw new TesseraError('UNAVAILABLE', `${nodeId} is down`)
    return `answer from ${nodeId}`
  }
  const budget = createRetryBudget({ clock })
  const send = pipeline(
    [fallback(), retry({ budget, clock, random: () => 0 }), balance, breakers.middleware()],
    transport,
  )
  return { send, sent, breakers }
}

const policy = {
  retry: { attempts: 3, baseDelay: 10, maxDelay: 100 },
  breaker: { failureRatio: 0.5, minCalls: 2, windowMs: 10_000, openMs: 5_000 },
}

describe('the composed caller-side policies', () => {
  it('moves a retry on to a node not tried yet', async () => {
    const { send, sent } = setup(new Set(['a']))
    const result = await send(makeCall({ policy }))
    expect(sent).toHaveLength(2)
    expect(sent[0]).toBe('a')
    expect(sent[1]).not.toBe('a')
    expect(result).toBe(`answer from ${sent[1]}`)
  })

  it('stops sending to a node once its circuit opens', async () => {
    const { send, sent, breakers } = setup(new Set(['a']))
    for (let i = 0; i < 6; i++) await send(makeCall({ policy }))
    expect(breakers.state('users', 'a')).toBe('open')
    sent.length = 0
    for (let i = 0; i < 6; i++) await send(makeCall({ policy }))
    expect(sent).not.toContain('a')
  })

  it('answers with the fallback once every node has failed, each tried once', async () => {
    const { send, sent } = setup(new Set(['a', 'b', 'c']))
    const result = await send(
      makeCall({ policy, fallback: (err) => `fallback after ${(err as TesseraError).code}` }),
    )
    expect(result).toBe('fallback after UNAVAILABLE')
    expect([...sent].sort()).toEqual(['a', 'b', 'c'])
  })
})
