import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../../observability/index.ts'
import type { DurableConsumerSpec, DurableEnvelope } from '../../durable.ts'
import { createEventStore, type EventStore, type EventStoreOptions } from './event-store.ts'
import { type StoreEvents, storeClient } from './store-client.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function setup(options: Partial<EventStoreOptions> = {}) {
  const root = await mkdtemp(join(tmpdir(), 'tes-'))
  cleanups.push(() => rm(root, { recursive: true, force: true }))
  const where = { dir: join(root, 'events'), socketPath: join(root, 's', '.events.sock') }
  const open = async (): Promise<EventStore> => {
    const store = await createEventStore({ ...where, ...options })
    cleanups.push(() => store.close())
    return store
  }
  const client = (): StoreEvents => {
    const c = storeClient({ socketPath: where.socketPath, logger: silentLogger })
    cleanups.push(() => c.close())
    return c
  }
  return { open, client }
}

let n = 0
const env = (payload: unknown, id = `e-${++n}`, event = 'sale.made'): DurableEnvelope => ({
  id,
  event,
  service: 'shop',
  payload,
  requestId: 'r',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  at: Date.now(),
})
const spec = (o: Partial<DurableConsumerSpec> = {}): DurableConsumerSpec => ({
  service: 'ledger',
  event: 'sale.made',
  mode: 'balanced',
  nodeId: 'n1',
  maxDeliver: 3,
  backoffMs: [20, 40],
  ackWaitMs: 1000,
  ...o,
})

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** The dead letters once there is one. */
async function deadLetters(c: StoreEvents, service?: string) {
  for (let i = 0; i < 500; i++) {
    const dead = await c.dead(service)
    if (dead.length > 0) return dead
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error('no dead letter')
}

describe('the socket event store', () => {
  it('rejects a publish UNAVAILABLE when no store answers', async () => {
    const { client } = await setup()
    await expect(client().publish(env(1))).rejects.toMatchObject({ code: 'UNAVAILABLE' })
  })

  it('gives a balanced consumer what was stored before it ever subscribed, each event to one instance', async () => {
    const { open, client } = await setup()
    await open()
    const emitter = client()
    for (let i = 0; i < 50; i++) await emitter.publish(env(i))
    const got: [string, unknown][] = []
    const a = client()
    const b = client()
    await a.consume(spec({ nodeId: 'a' }), async (e) => void got.push(['a', e.payload]))
    await b.consume(spec({ nodeId: 'b' }), async (e) => void got.push(['b', e.payload]))
    for (let i = 50; i < 100; i++) await emitter.publish(env(i))
    await until(() => got.length >= 100, '100 deliveries')
    await new Promise((r) => setTimeout(r, 100))
    expect(got.map(([, p]) => p).sort((x, y) => Number(x) - Number(y))).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    )
    expect(got.some(([who]) => who === 'b')).toBe(true)
  })

  it('stores an id published twice within the window once', async () => {
    const { open, client } = await setup()
    const store = await open()
    const c = client()
    await Promise.all([c.publish(env(1, 'same')), c.publish(env(1, 'same'))])
    await c.publish(env(1, 'same'))
    expect(store.stats().events).toBe(1)
  })

  it('gives a broadcast consumer new events only, on every instance', async () => {
    const { open, client } = await setup()
    await open()
    const c = client()
    await c.publish(env('old'))
    const got: string[] = []
    await client().consume(
      spec({ mode: 'broadcast', nodeId: 'x' }),
      async (e) => void got.push(`x${e.payload}`),
    )
    await client().consume(
      spec({ mode: 'broadcast', nodeId: 'y' }),
      async (e) => void got.push(`y${e.payload}`),
    )
    await c.publish(env('new'))
    await until(() => got.length >= 2, 'both instances')
    expect(got.sort()).toEqual(['xnew', 'ynew'])
  })

  it('redelivers a failed handler with backoff, dead-letters it at maxDeliver, replays it to that service only', async () => {
    const { open, client } = await setup()
    await open()
    const c = client()
    const tries = new Map<string, number>()
    let failing = true
    const ledger: string[] = []
    const audit: string[] = []
    await client().consume(spec(), async (e) => {
      tries.set(e.id, (tries.get(e.id) ?? 0) + 1)
      if (failing) throw Object.assign(new Error(`no ${String(e.payload)}`), { code: 'CONFLICT' })
      ledger.push(e.id)
    })
    await client().consume(spec({ service: 'audit' }), async (e) => void audit.push(e.id))
    await c.publish(env('x', 'bad'))
    await until(() => audit.length === 1, 'audit')
    const dead = await deadLetters(c, 'ledger')
    expect(dead[0]).toMatchObject({
      key: 'ledger:bad',
      service: 'ledger',
      deliveries: 3,
      error: 'CONFLICT: no x',
    })
    expect(tries.get('bad')).toBe(3)
    expect(await c.deadEvent('ledger:bad')).toMatchObject({ envelope: { id: 'bad', payload: 'x' } })
    expect(await c.dead('audit')).toEqual([])
    failing = false
    expect(await c.replay(['ledger:bad', 'nobody:bad', 'ledger:bad'])).toEqual(['ledger:bad'])
    await until(() => ledger.length === 1, 'the replay')
    await new Promise((r) => setTimeout(r, 100))
    expect(ledger).toEqual(['bad'])
    expect(audit).toEqual(['bad']) // not delivered again to the other subscriber
    expect(await c.dead()).toEqual([])
    expect(await c.deadEvent('ledger:bad')).toBeUndefined()
  })

  it('counts deliveries on across a restart of the store, so a restart does not reset maxDeliver', async () => {
    const { open, client } = await setup()
    let store = await open()
    const c = client()
    let tries = 0
    // The second failure waits a minute; the restart ends that wait, not the count.
    await client().consume(spec({ maxDeliver: 3, backoffMs: [20, 60_000] }), async () => {
      tries++
      throw new Error('always')
    })
    await c.publish(env('x', 'poison'))
    await until(() => tries === 2, 'two deliveries')
    await store.close()
    store = await open()
    const dead = await deadLetters(c, 'ledger')
    expect(dead[0]).toMatchObject({ key: 'ledger:poison', deliveries: 3 })
    expect(tries).toBe(3)
  })

  it('discards a dead letter without delivering it', async () => {
    const { open, client } = await setup()
    await open()
    const c = client()
    let runs = 0
    await client().consume(spec({ maxDeliver: 1 }), async () => {
      runs++
      throw new Error('never')
    })
    await c.publish(env(1, 'gone'))
    await deadLetters(c)
    expect(await c.discard(['ledger:gone', 'ledger:other'])).toEqual(['ledger:gone'])
    expect(await c.dead()).toEqual([])
    await new Promise((r) => setTimeout(r, 100))
    expect(runs).toBe(1)
  })

  it('redelivers after ackWaitMs what a silent consumer holds, and at once what a closed one held', async () => {
    const { open, client } = await setup()
    await open()
    const c = client()
    const silent = client()
    await silent.consume(spec({ ackWaitMs: 300 }), () => new Promise(() => {})) // never answers
    await c.publish(env(1, 'held'))
    const got: string[] = []
    const other = client()
    await new Promise((r) => setTimeout(r, 50))
    await other.consume(spec({ nodeId: 'n2', ackWaitMs: 300 }), async (e) => void got.push(e.id))
    await until(() => got.length === 1, 'redelivery after ackWait')
    await c.publish(env(2, 'held2')) // to either instance
    silent.close()
    await until(() => got.includes('held2'), 'held2 on the other instance')
  })

  it('keeps positions, dead letters and unacked events across a restart of the store', async () => {
    const { open, client } = await setup({ segmentBytes: 2000 })
    let store = await open()
    const c = client()
    for (let i = 0; i < 40; i++) await c.publish(env(i, `r-${i}`))
    const first: string[] = []
    const consumer = client()
    await consumer.consume(spec({ maxDeliver: 1 }), async (e) => {
      if (e.id === 'r-5') throw new Error('bad five')
      first.push(e.id)
    })
    await until(() => first.length === 39, '39 handled')
    await new Promise((r) => setTimeout(r, 200)) // the acks reach the store
    consumer.close()
    await store.close()
    store = await open()
    for (let i = 40; i < 50; i++)
      await c.publish(env(i, `r-${i}`)).catch(async () => {
        await new Promise((r) => setTimeout(r, 300))
        await c.publish(env(i, `r-${i}`))
      })
    const second: string[] = []
    await client().consume(spec({ maxDeliver: 1 }), async (e) => void second.push(e.id))
    await until(() => second.length === 10, '10 new')
    await new Promise((r) => setTimeout(r, 100))
    expect(second).toEqual(Array.from({ length: 10 }, (_, i) => `r-${40 + i}`))
    expect((await c.dead()).map((d) => `${d.key} ${d.error}`)).toEqual(['ledger:r-5 Error: bad five'])
    const removed = await store.compact()
    expect(removed.length).toBeGreaterThan(0)
    await store.close()
    store = await open()
    expect(store.stats().events).toBeLessThan(50)
    await new Promise((r) => setTimeout(r, 300)) // the client reconnects
    expect(await c.dead()).toHaveLength(1)
  })
})
