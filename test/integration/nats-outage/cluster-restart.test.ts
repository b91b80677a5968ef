import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NatsCluster, startNatsCluster } from '../../support/nats-cluster.ts'
import { expectNothingHungOrLost, sleep, startPair, underLoad } from './outage-load.ts'

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

    // Before the fix every call issued during an outage hung to its deadline.
    expectNothingHungOrLost({ read, add, runs }, 200)

    await cluster.routed()
    expect(pair.callee.exitCode).toBeNull()
    expect(pair.client.registry.endpoints('counter').length).toBe(1)
  })
})
