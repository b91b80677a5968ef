import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NatsServer } from '../../support/nats-server.ts'
import type { CounterService } from './fixtures/counter.ts'
import {
  CALM_LEASE,
  cluster,
  fixtures,
  openLoad,
  readyByHost,
  sleep,
  startJetStream,
  until,
} from './support.ts'

let nats: NatsServer
beforeAll(async () => {
  nats = await startJetStream()
})
afterAll(() => nats?.stop())

describe('an agent stopped with SIGTERM (tessera down --host, a shutdown)', () => {
  it('hands its slots to the other hosts before it drains: no call fails, it exits 0', {
    timeout: 180_000,
  }, async () => {
    await using sys = await cluster(nats, { counter: { entry: `${fixtures}counter.ts`, instances: 3 } })
    await Promise.all(['a', 'b', 'c'].map((h) => sys.startAgent(h, undefined, undefined, CALM_LEASE)))
    await until('one counter per host', 60_000, async () => {
      const counts = readyByHost(await sys.status('a'), 'counter')
      return counts.a === 1 && counts.b === 1 && counts.c === 1
    })
    const client = await sys.client()
    await until('the client to see 3', 10_000, () => client.registry.endpoints('counter').length === 3)
    const counter = client.client<CounterService>('counter')
    const reads = openLoad('lv-read', 50, (key) => counter.read({ key }, { timeout: 5000 }))
    const adds = openLoad('lv-add', 50, (key) => counter.add({ key }, { timeout: 5000 }))
    await sleep(1000)

    const c = sys.agents.get('c')!
    process.kill(c.child.pid!, 'SIGTERM')
    expect(await c.exited).toBe(0)
    await until('3 counters on a and b', 30_000, async () => {
      const counts = readyByHost(await sys.status('a'), 'counter')
      return counts.c === undefined && (counts.a ?? 0) + (counts.b ?? 0) === 3
    })
    await sleep(1000)
    const [r, a] = [await reads.stop(), await adds.stop()]
    console.info(
      `leave: reads ${r.ok}/${r.issued} ok ${JSON.stringify(r.failed)}, adds ${a.ok}/${a.issued} ok ${JSON.stringify(a.failed)}`,
    )
    expect(r.failed).toEqual({})
    expect(a.failed).toEqual({})
    expect(r.ok).toBe(r.issued)
    expect(a.ok).toBe(a.issued)
    expect((await sys.status('b')).hosts.map((h) => h.name)).toEqual(['a', 'b'])
  })
})
