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

describe('hosts that join a running system', () => {
  it('even it out by moves (one slot per host at the end) and fail no call meanwhile', {
    timeout: 180_000,
  }, async () => {
    await using sys = await cluster(nats, { counter: { entry: `${fixtures}counter.ts`, instances: 3 } })
    await sys.startAgent('a', undefined, undefined, CALM_LEASE)
    await until('3 counters on a', 30_000, async () => readyByHost(await sys.status('a'), 'counter').a === 3)
    const client = await sys.client()
    await until('the client to see 3', 10_000, () => client.registry.endpoints('counter').length === 3)
    const counter = client.client<CounterService>('counter')
    const reads = openLoad('rb-read', 50, (key) => counter.read({ key }, { timeout: 5000 }))
    const adds = openLoad('rb-add', 50, (key) => counter.add({ key }, { timeout: 5000 }))
    await sleep(500)

    await Promise.all([
      sys.startAgent('b', undefined, undefined, CALM_LEASE),
      sys.startAgent('c', undefined, undefined, CALM_LEASE),
    ])
    await until('one counter per host', 60_000, async () => {
      const counts = readyByHost(await sys.status('a'), 'counter')
      return counts.a === 1 && counts.b === 1 && counts.c === 1
    })
    await sleep(1000)
    const [r, a] = [await reads.stop(), await adds.stop()]
    console.info(
      `rebalance: reads ${r.ok}/${r.issued} ok ${JSON.stringify(r.failed)}, adds ${a.ok}/${a.issued} ok ${JSON.stringify(a.failed)}`,
    )
    expect(r.failed).toEqual({})
    expect(a.failed).toEqual({})
    expect(r.ok).toBe(r.issued)
    expect(a.ok).toBe(a.issued)
    // Still one each a renewal later: nothing moves back and forth.
    await sleep(1500)
    expect(readyByHost(await sys.status('b'), 'counter')).toEqual({ a: 1, b: 1, c: 1 })
  })
})
