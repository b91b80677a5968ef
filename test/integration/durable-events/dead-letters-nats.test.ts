import { connect } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Broker, createBroker } from '../../../src/broker/index.ts'
import { defineService, durable, subscribe, Type } from '../../../src/contract/index.ts'
import type { DurableEvents } from '../../../src/transport/index.ts'
import { natsTransport } from '../../../src/transport/nats/index.ts'
import type { NatsServer } from '../../support/nats-server.ts'
import { startJetStreamServer } from './support.ts'

// Dead letters on JetStream (decision 0027), through the DurableEvents interface of a
// real NATS transport: `books` fails while broken and dead-letters after 2 deliveries;
// `audit` subscribes to the same event and never fails. Replay must reach books only.
const NS = 'deadletters'
let nats: NatsServer
beforeAll(async () => {
  nats = await startJetStreamServer()
})
afterAll(() => nats?.stop())

const till = defineService({
  name: 'till',
  events: { 'sale.made': durable(Type.Object({ n: Type.Integer() })) },
  actions: ({ action }) => ({
    sell: action({
      input: Type.Object({ n: Type.Integer() }),
      output: Type.String(),
      handler: async ({ n }, ctx) => {
        const id = `sale-${n}`
        await ctx.emit('sale.made', { n }, { eventId: id })
        return id
      },
    }),
  }),
})

/** A subscriber recording every attempt and every handled event (by event id). */
function recorder(name: string, state: { broken: boolean }) {
  const attempts = new Map<string, number>()
  const handled: string[] = []
  const service = defineService({
    name,
    actions: () => ({}),
    on: subscribe<typeof till>({
      'sale.made': {
        durable: { maxDeliver: 2, backoffMs: [50], ackWaitMs: 5000 },
        handler: async (_payload, ctx) => {
          const id = ctx.eventId ?? '?'
          attempts.set(id, (attempts.get(id) ?? 0) + 1)
          if (state.broken) throw new Error(`${name} is broken`)
          handled.push(id)
        },
      },
    }),
  })
  return { service, attempts, handled }
}

async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

function node(id: string, services: NonNullable<Parameters<typeof createBroker>[0]>['services'] = []) {
  const transport = natsTransport({ servers: nats.url, namespace: NS })
  return { broker: createBroker({ nodeId: id, services, transport }), transport }
}

describe('dead letters on NATS JetStream', () => {
  it('lists, shows, replays to the failing service only, dead-letters a replay again, and discards', {
    timeout: 90_000,
  }, async () => {
    const booksState = { broken: true }
    const books = recorder('books', booksState)
    const audit = recorder('audit', { broken: false })
    const shop = node('dl-till', [till])
    const brokers: Broker[] = [
      shop.broker,
      node('dl-books', [books.service]).broker,
      node('dl-audit', [audit.service]).broker,
    ]
    // The operator: a node hosting nothing, as the control API joins (control/dead-letters.ts).
    const operator = node('dl-operator')
    brokers.push(operator.broker)
    for (const b of brokers) await b.start()
    const nc = await connect({ servers: nats.url })
    try {
      const durableOf = (): DurableEvents => {
        const d = operator.transport.durable
        if (!d) throw new Error('no durable events on the operator node')
        return d
      }
      const client = shop.broker.client<typeof till>('till')
      const id1 = await client.sell({ n: 1 })
      const key1 = `books:${id1}`

      // Failed twice by books: dead, under its key; audit handled it once and has no dead letter.
      const [dead1] = await eventually(async () => {
        const d = await durableOf().dead()
        return d.length > 0 ? d : undefined
      }, 'books to dead-letter sale 1')
      expect(dead1).toMatchObject({
        key: key1,
        service: 'books',
        deliveries: 2,
        error: 'Error: books is broken',
        envelope: { id: id1, event: 'sale.made', service: 'till', payload: { n: 1 } },
      })
      expect(books.attempts.get(id1)).toBe(2)
      await eventually(async () => (audit.handled.length > 0 ? true : undefined), 'audit to handle sale 1')
      expect(audit.handled).toEqual([id1])
      expect(await durableOf().dead('audit')).toEqual([])
      expect(await durableOf().dead('books')).toEqual([dead1])
      expect(await durableOf().deadEvent(key1)).toEqual(dead1)
      expect(await durableOf().deadEvent('books:no-such-event')).toBeUndefined()
      expect(await durableOf().deadEvent(`audit:${id1}`)).toBeUndefined()

      // Fixed, then replayed: books handles it exactly once; unknown keys are left out.
      booksState.broken = false
      expect(await durableOf().replay([key1, 'books:no-such-event', key1])).toEqual([key1])
      await eventually(
        async () => (books.handled.length > 0 ? true : undefined),
        'books to handle the replay',
      )
      expect(books.handled).toEqual([id1])
      expect(books.attempts.get(id1)).toBe(3)
      expect(await durableOf().dead()).toEqual([])
      expect(await durableOf().deadEvent(key1)).toBeUndefined()
      expect(await durableOf().replay([key1])).toEqual([])

      // The replay went on books' replay subject only: audit's replay consumer was never
      // given anything, books' took the one copy and acked it.
      const jsm = await nc.jetstreamManager()
      const replayStream = `TESSERA_${NS}_REPLAY`
      expect((await jsm.streams.info(replayStream)).state.messages).toBe(1)
      const auditReplay = await jsm.consumers.info(replayStream, 'audit--sale_made--replay')
      expect(auditReplay.delivered.stream_seq).toBe(0)
      expect(auditReplay.num_pending).toBe(0)
      // Its ack follows the handler: wait for the server to have it.
      const booksReplay = await eventually(async () => {
        const info = await jsm.consumers.info(replayStream, 'books--sale_made--replay')
        return info.ack_floor.stream_seq === 1 ? info : undefined
      }, 'books to ack the replayed copy')
      expect(booksReplay.delivered.stream_seq).toBe(1)
      expect(audit.handled).toEqual([id1])
      expect(audit.attempts.get(id1)).toBe(1)

      // A replay that fails again counts its deliveries afresh and is dead again, same key.
      booksState.broken = true
      const id2 = await client.sell({ n: 2 })
      const key2 = `books:${id2}`
      await eventually(async () => (await durableOf().deadEvent(key2)) ?? undefined, 'sale 2 dead')
      expect(await durableOf().replay([key2])).toEqual([key2])
      await eventually(
        async () => ((books.attempts.get(id2) ?? 0) >= 4 ? await durableOf().deadEvent(key2) : undefined),
        'the replay of sale 2 dead again',
      )
      const again = await durableOf().dead()
      expect(again).toHaveLength(1)
      expect(again[0]).toMatchObject({ key: key2, deliveries: 2, envelope: { id: id2 } })
      expect(books.attempts.get(id2)).toBe(4)

      // Discard removes it without a delivery: no copy is published, nothing more is tried.
      expect(await durableOf().discard([key2, 'books:no-such-event'])).toEqual([key2])
      expect(await durableOf().dead()).toEqual([])
      expect(await durableOf().discard([key2])).toEqual([])
      expect(await durableOf().replay([key2])).toEqual([])
      expect((await jsm.streams.info(replayStream)).state.messages).toBe(2)
      expect(books.handled).toEqual([id1])
      await eventually(async () => (audit.handled.length > 1 ? true : undefined), 'audit to handle sale 2')
      expect(audit.handled).toEqual([id1, id2])
    } finally {
      await nc.close()
      for (const b of brokers.reverse()) await b.stop()
    }
  })
})
