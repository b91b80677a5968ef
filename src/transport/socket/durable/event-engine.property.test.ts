import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../../observability/index.ts'
import type { DurableConsumerSpec } from '../../durable.ts'
import type { Subscriber } from './consumer.ts'
import { EventEngine } from './event-engine.ts'
import { RecordLog } from './record-log.ts'

const spec: DurableConsumerSpec = {
  service: 'ledger',
  event: 'sale.made',
  mode: 'balanced',
  nodeId: 'n1',
  maxDeliver: 100,
  backoffMs: [10],
  ackWaitMs: 3_600_000,
}

const open = (dir: string) =>
  EventEngine.open({
    dir,
    logger: silentLogger,
    segmentBytes: 600, // a few records each: rolls and compaction happen often
    maxAgeMs: 3_600_000,
    maxBytes: 1 << 30,
    duplicateWindowMs: 3_600_000,
    inactiveMs: 60_000,
    now: Date.now,
  })

/** A subscriber with room for everything: what it holds is exactly what the engine has not seen done. */
function holder(engine: () => EventEngine) {
  const inHand = new Map<string, number>()
  const sub: Subscriber = {
    window: 10_000,
    inFlight: new Set(),
    deliver(seq) {
      const id = engine().envelope(seq)?.id
      if (id !== undefined) inHand.set(id, seq)
    },
  }
  return { sub, inHand }
}

const Op = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ op: 'publish' as const }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('ack' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('again' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'compact' as const }) },
)

describe('the event engine (property)', () => {
  it('holds every published, unacked event exactly once, never an acked one, across restarts and compactions', async () => {
    let compactions = 0
    let runs = 0
    await fc.assert(
      fc.asyncProperty(fc.array(Op, { minLength: 20, maxLength: 80 }), async (ops) => {
        const dir = mkdtempSync(join(tmpdir(), 'tep-'))
        let engine = await open(dir)
        let h = holder(() => engine)
        engine.subscribe(spec, h.sub)
        const published: string[] = []
        const acked = new Set<string>()
        try {
          for (const o of ops) {
            if (o.op === 'publish') {
              const id = `e${published.length}`
              await engine.publish(envelope(id))
              published.push(id)
            } else if (o.op === 'again' && published.length > 0) {
              // A repeat of a stored id (an outbox relaying twice) changes nothing.
              await engine.publish(envelope(published[o.i % published.length]!))
            } else if (o.op === 'ack' && h.inHand.size > 0) {
              const [id, seq] = [...h.inHand][o.i % h.inHand.size]!
              h.inHand.delete(id)
              h.sub.inFlight.delete(seq)
              engine.ack('ledger|sale.made', seq)
              acked.add(id)
            } else if (o.op === 'restart') {
              await engine.close()
              engine = await open(dir)
              h = holder(() => engine)
              engine.subscribe(spec, h.sub)
            } else if (o.op === 'compact') {
              const removed = await engine.compact()
              compactions += removed.length
            }
            const want = published.filter((id) => !acked.has(id)).sort()
            expect([...h.inHand.keys()].sort()).toEqual(want)
          }
          expect(engine.stats().events).toBeGreaterThanOrEqual(published.length - acked.size)
        } finally {
          runs++
          await engine.close()
          rmSync(dir, { recursive: true, force: true })
        }
      }),
      { numRuns: 60 },
    )
    // The runs did exercise compaction (segments of 600 bytes roll every few records).
    expect(compactions).toBeGreaterThan(0)
    expect(runs).toBeGreaterThanOrEqual(60)
  }, 120_000)
})

describe('the record log', () => {
  it('cuts a torn last record at open and appends after the intact ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trl-'))
    try {
      let log = await RecordLog.open({ dir, segmentBytes: 1 << 20 }, () => {})
      for (let i = 0; i < 5; i++) await log.append({ i }, true)
      await log.close()
      const [segment] = readdirSync(dir)
      appendFileSync(join(dir, segment!), Buffer.from([0, 0, 0, 40, 1, 2, 3])) // half a record, as a crash leaves it
      const read: unknown[] = []
      log = await RecordLog.open({ dir, segmentBytes: 1 << 20 }, (r) => read.push(r.value))
      expect(read).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })))
      await log.append({ i: 5 }, true)
      await log.close()
      const again: unknown[] = []
      await (await RecordLog.open({ dir, segmentBytes: 1 << 20 }, (r) => again.push(r.value))).close()
      expect(again).toEqual([0, 1, 2, 3, 4, 5].map((i) => ({ i })))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

function envelope(id: string) {
  return {
    id,
    event: 'sale.made',
    service: 'shop',
    payload: { id },
    requestId: 'r',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    at: 0,
  }
}
