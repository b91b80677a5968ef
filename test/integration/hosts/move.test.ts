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

describe('tessera move <unit> --to <host> under steady load', () => {
  it('moves every instance elsewhere to the target and fails no call, idempotent or not', {
    timeout: 180_000,
  }, async () => {
    await using sys = await cluster(nats, {
      counter: { entry: `${fixtures}counter.ts`, instances: 2, placement: { hosts: ['a', 'b'] } },
    })
    await Promise.all([
      sys.startAgent('a', undefined, undefined, CALM_LEASE),
      sys.startAgent('b', undefined, undefined, CALM_LEASE),
      sys.startAgent('c', 'zone=spare', undefined, CALM_LEASE),
    ])
    await until('a counter on a and one on b', 30_000, async () => {
      const counts = readyByHost(await sys.status('c'), 'counter')
      return counts.a === 1 && counts.b === 1
    })
    const client = await sys.client()
    await until('the client to see both', 10_000, () => client.registry.endpoints('counter').length === 2)
    const counter = client.client<CounterService>('counter')
    const reads = openLoad('mv-read', 50, (key) => counter.read({ key }, { timeout: 5000 }))
    const adds = openLoad('mv-add', 50, (key) => counter.add({ key }, { timeout: 5000 }))
    await sleep(1000)

    // The placement names a and b only: c is refused, and nothing moved.
    const viaC = await sys.agents.get('c')!.control()
    await expect(viaC.run('move', { unit: 'counter', to: 'c' })).rejects.toThrow(/does not allow host c/)

    const progress: string[] = []
    const result = await viaC.run('move', { unit: 'counter', to: 'b' }, (m) => progress.push(m))
    expect(result).toBe('counter: 1 instance(s) moved to b')
    await sleep(1000)
    const [r, a] = [await reads.stop(), await adds.stop()]
    console.info(
      `move: reads ${r.ok}/${r.issued} ok ${JSON.stringify(r.failed)}, adds ${a.ok}/${a.issued} ok ${JSON.stringify(a.failed)}`,
    )

    expect(r.failed).toEqual({})
    expect(a.failed).toEqual({})
    expect(r.ok).toBe(r.issued)
    expect(a.ok).toBe(a.issued)
    expect(readyByHost(await sys.status('b'), 'counter')).toEqual({ b: 2 })
    // Every moved slot's old instance drained: a to b, and the lease moved with it.
    expect(progress.some((m) => m.includes('moved from a'))).toBe(true)
  })
})
