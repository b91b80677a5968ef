import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type NatsCluster, startNatsCluster } from '../../support/nats-cluster.ts'
import { expectNothingHungOrLost, startPair, underLoad } from './outage-load.ts'

let cluster: NatsCluster
beforeEach(async () => {
  cluster = await startNatsCluster(3)
})
afterEach(() => cluster?.stop())

describe('one server of a 3-node NATS cluster SIGKILLed under load', () => {
  for (const victim of ['client', 'callee'] as const) {
    it(`fails no idempotent call when it is the ${victim}'s server (the ${victim} fails over); a non-idempotent one fails fast only if in flight that instant`, {
      timeout: 40_000,
    }, async () => {
      const namespace = `failover${victim}`
      await using pair = await startPair(cluster.urls, namespace)
      const { read, add, runs } = await underLoad(pair, victim, async () => {
        await cluster.killServerOf(`${namespace}-${victim}`)
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
