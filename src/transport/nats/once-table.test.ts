import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { OnceTable } from './once-table.ts'

function table(options: Partial<{ maxEntries: number; maxBytes: number; graceMs: number }> = {}) {
  const clock = { now: 1000 }
  const t = new OnceTable({
    maxEntries: options.maxEntries ?? 1000,
    maxBytes: options.maxBytes ?? 1 << 20,
    graceMs: options.graceMs ?? 0,
    now: () => clock.now,
  })
  return { t, clock }
}

const answer = (n: number) => new Uint8Array([n])

describe('OnceTable', () => {
  it('runs a request once, attaches a resend while it runs and answers one after it ended from what it stored', () => {
    const { t } = table()
    expect(t.arrive('a', 1, 5000, 7)).toEqual({ type: 'run' })
    expect(t.arrive('a', 1, 5000, 7)).toEqual({ type: 'running' })
    expect(t.awaits('a', 1)).toBe(true)
    t.answered('a', 1, answer(9))
    expect(t.awaits('a', 1)).toBe(false)
    expect(t.arrive('a', 1, 5000, 7)).toEqual({ type: 'answered', bytes: answer(9) })
    expect(t.bytes).toBe(1)
  })

  it('keeps callers apart: the same id from another node is another request', () => {
    const { t } = table()
    expect(t.arrive('a', 1, 5000, 7).type).toBe('run')
    expect(t.arrive('b', 1, 5000, 8).type).toBe('run')
  })

  it('runs a resend it has no record of (the first sending never arrived)', () => {
    const { t } = table()
    expect(t.arrive('a', 3, 5000, 7).type).toBe('run')
  })

  it('answers "unknown" for a resend at or below an evicted id, and never runs it again', () => {
    const { t } = table({ maxEntries: 2 })
    for (const id of [1, 2, 3]) t.arrive('a', id, 5000, 7)
    expect(t.size).toBe(2)
    expect(t.arrive('a', 1, 5000, 7).type).toBe('unknown')
    // 2 and 3 are still recorded; 4 never came: it runs.
    expect(t.arrive('a', 2, 5000, 7).type).toBe('running')
    expect(t.arrive('a', 4, 5000, 7).type).toBe('run')
  })

  it('evicts the oldest answers past maxBytes', () => {
    const { t } = table({ maxBytes: 10 })
    t.arrive('a', 1, 5000, 7)
    t.answered('a', 1, new Uint8Array(8))
    t.arrive('a', 2, 5000, 7)
    t.answered('a', 2, new Uint8Array(8))
    expect(t.bytes).toBe(8)
    expect(t.arrive('a', 1, 5000, 7).type).toBe('unknown')
    expect(t.arrive('a', 2, 5000, 7).type).toBe('answered')
  })

  it('lets a record go after its deadline and grace, and forgets an idle caller later', () => {
    const { t, clock } = table({ graceMs: 100 })
    t.arrive('a', 1, 500, 7)
    t.answered('a', 1, answer(1))
    clock.now += 599
    expect(t.arrive('a', 1, 500, 7).type).toBe('answered')
    clock.now += 2
    expect(t.arrive('a', 1, 500, 7).type).toBe('unknown')
    expect(t.size).toBe(0)
    expect(t.bytes).toBe(0)
  })

  it("drops a caller's records when it comes back as another incarnation (its ids start again)", () => {
    const { t } = table()
    t.arrive('a', 1, 5000, 7)
    t.answered('a', 1, answer(1))
    expect(t.arrive('a', 1, 5000, 8)).toEqual({ type: 'run' })
    expect(t.size).toBe(1)
    expect(t.bytes).toBe(0)
  })

  // The property the brief asks for: whatever the order of first sendings, resends and
  // answers, with evictions by count and bytes in between, no request runs twice, and a
  // request answered before is never answered "unknown" while its answer is kept.
  it('runs each (caller, id) at most once, for any interleaving of deliveries, resends and answers', () => {
    const event = fc.oneof(
      fc.record({
        type: fc.constant('deliver' as const),
        caller: fc.constantFrom('a', 'b'),
        id: fc.integer({ min: 1, max: 12 }),
      }),
      fc.record({
        type: fc.constant('answer' as const),
        caller: fc.constantFrom('a', 'b'),
        id: fc.integer({ min: 1, max: 12 }),
        size: fc.integer({ min: 1, max: 6 }),
      }),
      fc.record({ type: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 300 }) }),
    )
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 120 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 4, max: 40 }),
        (events, maxEntries, maxBytes) => {
          const { t, clock } = table({ maxEntries, maxBytes, graceMs: 50 })
          const runs = new Map<string, number>()
          const firstAt = new Map<string, number>()
          const running = new Set<string>()
          for (const e of events) {
            if (e.type === 'tick') {
              clock.now += e.ms
              continue
            }
            const key = `${e.caller}:${e.id}`
            if (e.type === 'answer') {
              // Only a request that runs here gets an answer, once.
              if (!running.delete(key)) continue
              t.answered(e.caller, e.id, new Uint8Array(e.size))
              continue
            }
            // Deliveries come within the request's deadline (1 s from its first sending):
            // a caller never sends again after giving up.
            const first = firstAt.get(key) ?? clock.now
            if (clock.now - first > 1000) continue
            firstAt.set(key, first)
            const arrival = t.arrive(e.caller, e.id, 1000 - (clock.now - first), 1)
            if (arrival.type === 'run') {
              runs.set(key, (runs.get(key) ?? 0) + 1)
              running.add(key)
            }
          }
          for (const n of runs.values()) expect(n).toBe(1)
          expect(t.size).toBeLessThanOrEqual(maxEntries)
          expect(t.bytes).toBeLessThanOrEqual(maxBytes)
        },
      ),
      { numRuns: 2000 },
    )
  })
})
