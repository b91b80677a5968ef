import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type NatsCluster, startNatsCluster } from '../../support/nats-cluster.ts'
import { ranTwice, recordingLogger, startPair, underLoad } from './outage-load.ts'

let cluster: NatsCluster
beforeEach(async () => {
  cluster = await startNatsCluster(3)
})
afterEach(() => cluster?.stop())

// Decision 0033: a non-idempotent call in flight when its link is lost is sent again to
// the same callee, which runs it at most once, so losing one server of three fails nothing.
describe('one server of a 3-node NATS cluster SIGKILLed under load, non-idempotent calls too', () => {
  for (const victim of ['client', 'callee'] as const) {
    it(`fails no call and runs every add exactly once when it is the ${victim}'s server`, {
      timeout: 40_000,
    }, async () => {
      const namespace = `once${victim}`
      const logger = recordingLogger()
      // A 60 ms add keeps about three adds in flight at any instant, so the kill always catches some.
      await using pair = await startPair(cluster.urls, namespace, 5000, { addDelayMs: 60, logger })
      const { read, add, runs } = await underLoad(pair, victim, async () => {
        await cluster.killServerOf(`${namespace}-${victim}`)
      })
      const addRuns = Object.entries(runs).filter(([key]) => key.includes('-add-'))
      const executed = addRuns.reduce((sum, [, n]) => sum + n, 0)
      const count = (msg: string) =>
        logger.lines
          .filter((line) => line.msg === msg)
          .reduce((sum, line) => sum + ((line.obj as { requests?: number }).requests ?? 0), 0)
      const resent = count('nats: sending requests again')
      const parked = count('nats: requests wait for a peer gone by no responders to come back')
      console.info(
        `one server killed (${victim}'s): read ${read.ok}/${read.issued} ok, add ${add.ok}/${add.issued} ok, add executions ${executed}, requests resent ${resent} (parked ${parked}), failed ${JSON.stringify(add.failed)} ${add.reasons.join('; ')}`,
      )

      expect(read.issued).toBeGreaterThan(120)
      expect(add.issued).toBeGreaterThan(120)
      // Nothing hung, nothing failed, idempotent or not.
      expect({ read: read.failed, add: add.failed, hung: read.hung + add.hung }).toEqual({
        read: {},
        add: {},
        hung: 0,
      })
      expect(read.ok).toBe(read.issued)
      expect(add.ok).toBe(add.issued)
      // Every answered add ran exactly once: executions == ok calls, no duplicates.
      expect(ranTwice({ read, add, runs }).filter((key) => key.includes('-add-'))).toEqual([])
      expect(add.okKeys.filter((key) => runs[key] !== 1)).toEqual([])
      expect(executed).toBe(add.ok)
      // The kill caught adds in flight, and they were sent again (not merely lucky).
      expect(resent).toBeGreaterThan(0)
      expect(pair.callee.exitCode).toBeNull()
    })
  }
})
