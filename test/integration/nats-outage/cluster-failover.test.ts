import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type NatsCluster, startNatsCluster } from '../../support/nats-cluster.ts'
import { expectNothingHungOrLost, startPair, underLoad } from './outage-load.ts'

let cluster: NatsCluster
beforeEach(async () => {
  cluster = await startNatsCluster(3)
})
afterEach(() => cluster?.stop())

// Kills the server the named node is connected to (each node picks one of the three at random).
async function killServerOf(node: string): Promise<number> {
  const index = await cluster.serverOf(`tessera:${node}`)
  if (index === undefined) throw new Error(`${node} is connected to no server of the cluster`)
  await cluster.servers[index]!.kill()
  return index
}

describe('one server of a 3-node NATS cluster SIGKILLed under load', () => {
  for (const victim of ['client', 'callee'] as const) {
    it(`fails no idempotent call when it is the ${victim}'s server (the ${victim} fails over); a non-idempotent one fails fast only if in flight that instant`, {
      timeout: 40_000,
    }, async () => {
      const namespace = `failover${victim}`
      await using pair = await startPair(cluster.urls, namespace)
      const { read, add, runs } = await underLoad(pair, victim, async () => {
        await killServerOf(`${namespace}-${victim}`)
      })
      console.info(
        `one server killed (${victim}'s): read ${read.ok}/${read.issued} ok, add ${add.ok}/${add.issued} ok, failed ${JSON.stringify(add.failed)} ${add.reasons.join('; ')}`,
      )

      // Before the fix every call issued during an outage hung to its deadline.
      expectNothingHungOrLost({ read, add, runs }, 120)
      expect(pair.callee.exitCode).toBeNull()
    })
  }
})
