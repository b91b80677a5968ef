import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Endpoint } from '../middleware/index.ts'
import { makeCall } from '../middleware/testing/make-call.ts'
import {
  type Balancer,
  excludeTried,
  excludeUnavailable,
  leastOutstanding,
  preferLocal,
  roundRobin,
} from './balancer.ts'

const ep = (nodeId: string, local = false): Endpoint => ({ nodeId, local })
const nodes = (n: number): Endpoint[] => Array.from({ length: n }, (_, i) => ep(`n${i}`))
const call = makeCall()
const pickMany = (balancer: Balancer, candidates: readonly Endpoint[], times: number) =>
  Array.from({ length: times }, () => balancer(candidates, call)?.nodeId)

/** A balancer that records what it was offered and picks the first. */
function spy(): Balancer & { offered: string[][] } {
  const offered: string[][] = []
  const pick: Balancer = (candidates) => {
    offered.push(candidates.map((e) => e.nodeId))
    return candidates[0]
  }
  return Object.assign(pick, { offered })
}

describe('roundRobin', () => {
  it('takes the candidates in turn', () => {
    expect(pickMany(roundRobin(), nodes(3), 7)).toEqual(['n0', 'n1', 'n2', 'n0', 'n1', 'n2', 'n0'])
  })

  it('returns undefined when there is no candidate', () => {
    expect(roundRobin()([], call)).toBeUndefined()
  })

  it('keeps a separate turn for each balancer', () => {
    const a = roundRobin()
    const b = roundRobin()
    a(nodes(2), call)
    expect(b(nodes(2), call)?.nodeId).toBe('n0')
  })

  it('keeps going when the list shrinks', () => {
    const pick = roundRobin()
    pick(nodes(5), call)
    pick(nodes(5), call)
    pick(nodes(5), call)
    pick(nodes(5), call)
    expect(pickMany(pick, nodes(2), 4)).toEqual(['n0', 'n1', 'n0', 'n1'])
  })

  it('picks each of n candidates exactly k times over k * n picks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.nat(50),
        (n, k, warmup) => {
          const pick = roundRobin()
          const candidates = nodes(n)
          pickMany(pick, nodes(Math.max(1, warmup % 7)), warmup) // any history before
          const counts = new Map<string | undefined, number>()
          for (const id of pickMany(pick, candidates, k * n)) counts.set(id, (counts.get(id) ?? 0) + 1)
          expect(counts.size).toBe(n)
          for (const count of counts.values()) expect(count).toBe(k)
        },
      ),
    )
  })
})

describe('leastOutstanding', () => {
  it('picks the node with the fewest calls in flight', () => {
    const load: Record<string, number> = { n0: 5, n1: 2, n2: 7 }
    expect(leastOutstanding((id) => load[id]!)(nodes(3), call)?.nodeId).toBe('n1')
  })

  it('rotates among tied nodes instead of piling on the first', () => {
    const load: Record<string, number> = { n0: 1, n1: 0, n2: 1, n3: 0 }
    const pick = leastOutstanding((id) => load[id]!)
    expect(pickMany(pick, nodes(4), 4)).toEqual(['n1', 'n3', 'n1', 'n3'])
  })

  it('returns the only candidate without asking for its load, and undefined for none', () => {
    let asked = 0
    const pick = leastOutstanding(() => asked++)
    expect(pick([ep('solo')], call)?.nodeId).toBe('solo')
    expect(pick([], call)).toBeUndefined()
    expect(asked).toBe(0)
  })

  it('still picks someone when every load is NaN', () => {
    const pick = leastOutstanding(() => Number.NaN)
    expect(pickMany(pick, nodes(2), 2)).toEqual(['n0', 'n1'])
  })

  it('always returns a candidate of minimum load, and spreads picks over all tied ones', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(5), { minLength: 1, maxLength: 12 }), (loads) => {
        const candidates = nodes(loads.length)
        const loadOf = (id: string) => loads[Number(id.slice(1))]!
        const pick = leastOutstanding(loadOf)
        const min = Math.min(...loads)
        const ties = loads.filter((l) => l === min).length
        const picked = new Set<string>()
        for (let i = 0; i < ties; i++) {
          const chosen = pick(candidates, call)
          expect(chosen).toBeDefined()
          expect(loadOf(chosen!.nodeId)).toBe(min)
          picked.add(chosen!.nodeId)
        }
        expect(picked.size).toBe(ties)
      }),
    )
  })
})

describe('preferLocal', () => {
  it('picks the local endpoint without asking the inner balancer', () => {
    const inner = spy()
    expect(preferLocal(inner)([ep('a'), ep('me', true), ep('b')], call)?.nodeId).toBe('me')
    expect(inner.offered).toEqual([])
  })

  it('lets the inner balancer choose among several local endpoints only', () => {
    const inner = spy()
    preferLocal(inner)([ep('a'), ep('l1', true), ep('b'), ep('l2', true)], call)
    expect(inner.offered).toEqual([['l1', 'l2']])
  })

  it('lets the inner balancer choose among all when none is local', () => {
    const inner = spy()
    expect(preferLocal(inner)([ep('a'), ep('b')], call)?.nodeId).toBe('a')
    expect(inner.offered).toEqual([['a', 'b']])
  })

  it('returns undefined for no candidates', () => {
    expect(preferLocal(roundRobin())([], call)).toBeUndefined()
  })
})

describe('excludeTried', () => {
  it('avoids nodes already tried by this call', () => {
    const pick = excludeTried(roundRobin())
    const retry = makeCall({ attempt: 2, tried: ['n0'] })
    expect(pickMany((c) => pick(c, retry), nodes(3), 4)).toEqual(['n1', 'n2', 'n1', 'n2'])
  })

  it('falls back to all candidates when every one was tried', () => {
    const inner = spy()
    const retry = makeCall({ attempt: 3, tried: ['n0', 'n1'] })
    expect(excludeTried(inner)(nodes(2), retry)?.nodeId).toBe('n0')
    expect(inner.offered).toEqual([['n0', 'n1']])
  })

  it('passes the very same candidate list on when nothing was tried', () => {
    const candidates = nodes(3)
    let seen: readonly Endpoint[] | undefined
    excludeTried((c) => {
      seen = c
      return c[0]
    })(candidates, makeCall({ tried: ['elsewhere'] }))
    expect(seen).toBe(candidates)
  })

  it('never returns a tried node when an untried one exists', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.nat(12), { maxLength: 12 }),
        fc.nat(20),
        (n, triedIdx, warmup) => {
          const candidates = nodes(n)
          const tried = triedIdx.map((i) => `n${i}`)
          const inner = preferLocal(roundRobin())
          const pick = excludeTried(inner)
          for (let i = 0; i < warmup; i++) inner(candidates, call)
          const chosen = pick(candidates, makeCall({ tried }))
          expect(chosen).toBeDefined()
          const untriedExists = candidates.some((e) => !tried.includes(e.nodeId))
          if (untriedExists) expect(tried).not.toContain(chosen!.nodeId)
        },
      ),
    )
  })
})

describe('excludeUnavailable', () => {
  it('skips endpoints whose circuit is open', () => {
    const open = new Set(['n1'])
    const pick = excludeUnavailable((service, id) => service === 'users' && !open.has(id), roundRobin())
    expect(pickMany((c) => pick(c, call), nodes(3), 4)).toEqual(['n0', 'n2', 'n0', 'n2'])
  })

  it('offers every endpoint when none is available, so the breaker can answer', () => {
    const inner = spy()
    excludeUnavailable(() => false, inner)(nodes(2), call)
    expect(inner.offered).toEqual([['n0', 'n1']])
  })
})
