import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, startNatsServer } from '../../support/nats-server.ts'
import { runSystem } from '../runtime/support.ts'
import { executions, okButNotRun, sleep, startOpenLoad } from './outage-load.ts'

const fixtures = new URL('./fixtures/', import.meta.url).pathname

let nats: NatsServer
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(() => nats?.stop())

describe('a system under the runtime on NATS, nats-server SIGKILLed and restarted 2 s later', () => {
  it('restarts no instance and hangs no call; no idempotent call fails, none runs twice', {
    timeout: 60_000,
  }, async () => {
    await using sys = await runSystem(
      {
        name: 'natsoutage',
        transport: { kind: 'nats', servers: nats.url },
        services: { counter: { entry: './counter.ts', instances: 2 } },
      },
      fixtures,
    )
    const pids = sys.sup
      .unit('counter')
      .instances()
      .map((i) => i.pid)
    const load = startOpenLoad(sys.client, 'rt', 100, 5000)
    await sleep(1000)
    await nats.kill()
    await sleep(2000)
    await nats.restart()
    await sleep(2000)
    const { read, add } = await load.stop()
    const runs = await executions(sys.client, 'rt-', 2)
    console.info(
      `runtime, server restart: read ${read.ok}/${read.issued} ok, add ${add.ok}/${add.issued} ok, failed ${JSON.stringify(add.failed)}`,
    )

    expect(read.hung).toBe(0)
    expect(add.hung).toBe(0)
    expect(read.failed).toEqual({})
    expect(read.ok).toBe(read.issued)
    expect(Object.keys(add.failed).filter((code) => code !== 'UNAVAILABLE')).toEqual([])
    expect(add.ok + (add.failed.UNAVAILABLE ?? 0)).toBe(add.issued)
    expect(Object.entries(runs).filter(([k, n]) => k.includes('-add-') && n > 1)).toEqual([])
    expect(okButNotRun(add, runs)).toEqual([])
    expect(okButNotRun(read, runs)).toEqual([])

    // The supervisor restarted nothing, and both instances serve again.
    expect(
      sys.sup
        .unit('counter')
        .instances()
        .map((i) => i.pid),
    ).toEqual(pids)
    expect(sys.sup.status().units[0]!.restarts).toBe(0)
    expect(sys.client.registry.endpoints('counter').length).toBe(2)
  })
})
