import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NatsServer } from '../../support/nats-server.ts'
import type { CounterService } from './fixtures/counter.ts'
import type { EchoService } from './fixtures/echo.ts'
import { cluster, fixtures, openLoad, readyByHost, sleep, startJetStream, until } from './support.ts'

let nats: NatsServer
beforeAll(async () => {
  nats = await startJetStream()
})
afterAll(() => nats?.stop())

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0)

describe('a whole host SIGKILLed (its agent and every instance) under steady load', () => {
  it('fails no idempotent call, drops the host, and restarts its lone unit on a live host', {
    timeout: 180_000,
  }, async () => {
    await using sys = await cluster(nats, {
      counter: { entry: `${fixtures}counter.ts`, instances: 3 },
      echo: { entry: `${fixtures}echo.ts`, instances: 1 },
    })
    await Promise.all(['a', 'b', 'c'].map((h) => sys.startAgent(h)))
    await until('3 counters (one per host) and 1 echo ready', 30_000, async () => {
      const s = await sys.status('a')
      const counts = readyByHost(s, 'counter')
      return counts.a === 1 && counts.b === 1 && counts.c === 1 && total(readyByHost(s, 'echo')) === 1
    })
    const before = await sys.status('a')
    const lost = Object.keys(readyByHost(before, 'echo'))[0]!
    const survivor = ['a', 'b', 'c'].find((h) => h !== lost)!
    const lostNodes = before.units
      .flatMap((u) => u.instances)
      .filter((i) => i.label.endsWith(`@${lost}`))
      .map((i) => i.nodeId!)
    expect(lostNodes.length).toBe(2) // its counter and the echo

    const client = await sys.client()
    await client.waitFor(['counter', 'echo'], 10_000)
    await until(
      'the client to see all 3 counters',
      10_000,
      () => client.registry.endpoints('counter').length === 3,
    )
    const counter = client.client<CounterService>('counter')
    const echo = client.client<EchoService>('echo')
    const reads = openLoad('read', 100, (key) => counter.read({ key }, { timeout: 5000 }))
    await sleep(1000)

    const killedAt = Date.now()
    sys.agents.get(lost)!.killAll()
    await until(`${lost} to leave the client's registry`, 10_000, () =>
      lostNodes.every((n) => !client.registry.endpoints('counter').some((e) => e.nodeId === n)),
    )
    const leftRegistryMs = Date.now() - killedAt
    await until(`${lost} to leave the hosts`, 10_000, async () =>
      (await sys.status(survivor)).hosts.every((h) => h.name !== lost),
    )
    const leftHostsMs = Date.now() - killedAt
    await until('echo to serve again on a live host, and 3 counters', 30_000, async () => {
      const s = await sys.status(survivor)
      const e = readyByHost(s, 'echo')
      return total(e) === 1 && e[lost] === undefined && total(readyByHost(s, 'counter')) === 3
    })
    const echoBackMs = Date.now() - killedAt
    const answered = await echo.where({}, { timeout: 5000 })
    await sleep(1000)
    const t = await reads.stop()
    console.info(
      `host loss: ${t.ok}/${t.issued} reads ok, failed ${JSON.stringify(t.failed)}; instances left the registry after ${leftRegistryMs} ms, the host the hosts after ${leftHostsMs} ms, echo served again after ${echoBackMs} ms`,
    )

    expect(t.failed).toEqual({})
    expect(t.ok).toBe(t.issued)
    const after = await sys.status(survivor)
    expect(after.hosts.map((h) => h.name).sort()).toEqual(['a', 'b', 'c'].filter((h) => h !== lost))
    expect(readyByHost(after, 'counter')[lost]).toBeUndefined()
    const newEcho = after.units.find((u) => u.name === 'echo')!.instances[0]!
    expect(newEcho.pid).toBe(answered.pid)
  })
})
