import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NatsCluster, startNatsCluster } from '../../support/nats-cluster.ts'
import { okButNotRun, ranTwice, sleep, startPair, underLoad } from './outage-load.ts'

let cluster: NatsCluster
beforeAll(async () => {
  cluster = await startNatsCluster(3)
})
afterAll(() => cluster?.stop())

describe('every server of a 3-node NATS cluster SIGKILLed under load, all restarted 2 s later', () => {
  it('hangs no call: idempotent ones all succeed, others succeed or fail fast, none runs twice', {
    timeout: 40_000,
  }, async () => {
    await using pair = await startPair(cluster.urls, 'clusterall')
    const { read, add, runs } = await underLoad(pair, 'all', async () => {
      await Promise.all(cluster.servers.map((s) => s.kill()))
      await sleep(2000)
      await Promise.all(cluster.servers.map((s) => s.restart()))
    })
    console.info(
      `whole cluster restart: read ${read.ok}/${read.issued} ok, add ${add.ok}/${add.issued} ok, failed ${JSON.stringify(add.failed)}`,
    )

    expect(read.issued).toBeGreaterThan(200)
    expect(add.issued).toBeGreaterThan(200)
    expect(read.hung).toBe(0)
    expect(add.hung).toBe(0)
    expect(read.failed).toEqual({})
    expect(read.ok).toBe(read.issued)
    expect(Object.keys(add.failed).filter((code) => code !== 'UNAVAILABLE')).toEqual([])
    expect(add.ok + (add.failed.UNAVAILABLE ?? 0)).toBe(add.issued)
    expect(ranTwice({ read, add, runs }).filter((key) => key.includes('-add-'))).toEqual([])
    expect(okButNotRun(read, runs)).toEqual([])
    expect(okButNotRun(add, runs)).toEqual([])

    await cluster.routed()
    expect(pair.callee.exitCode).toBeNull()
    expect(pair.client.registry.endpoints('counter').length).toBe(1)
  })
})
