import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NatsServer } from '../../support/nats-server.ts'
import type { CounterService } from './fixtures/counter.ts'
import { canMakeNamespaces, makeNetNs, type NetNs } from './netns.ts'
import { cluster, fixtures, openLoad, readyByHost, sleep, startJetStream, until } from './support.ts'

// Host c is a network namespace of its own (veth to this one, where nats-server listens
// on the veth's outer address); a and b run here. Taking c's link down partitions the
// whole host: its agent and its instances.
const namespaces = canMakeNamespaces()
let ns: NetNs | undefined
let nats: NatsServer | undefined
beforeAll(async () => {
  if (!namespaces) return
  ns = makeNetNs()
  nats = await startJetStream(ns.outerAddress)
})
afterAll(async () => {
  await nats?.stop()
  ns?.remove()
})

// A killed process whose parent exited at once stays a zombie until init reaps it: dead.
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z'
  } catch {
    return false
  }
}

describe.skipIf(!namespaces)(
  'a host partitioned from NATS (its network namespace cut off) under load',
  () => {
    it('fences itself: its instances are dead before another host starts their slot, and it exits 3', {
      timeout: 180_000,
    }, async () => {
      const url = `nats://${ns!.outerAddress}:${nats!.port}`
      await using sys = await cluster(
        nats!,
        { counter: { entry: `${fixtures}counter.ts`, instances: 3 } },
        'hostsnet',
        url,
      )
      await Promise.all([sys.startAgent('a'), sys.startAgent('b'), sys.startAgent('c', undefined, ns!.name)])
      await until('one counter per host', 60_000, async () => {
        const counts = readyByHost(await sys.status('a'), 'counter')
        return counts.a === 1 && counts.b === 1 && counts.c === 1
      })
      const onC = (await sys.status('a')).units[0]!.instances.find((i) => i.label.endsWith('@c'))!
      const cPid = onC.pid!
      expect(alive(cPid)).toBe(true)

      const client = await sys.client()
      await until(
        'the client to see 3 counters',
        10_000,
        () => client.registry.endpoints('counter').length === 3,
      )
      const counter = client.client<CounterService>('counter')
      const reads = openLoad('part-read', 100, (key) => counter.read({ key }, { timeout: 5000 }))
      await sleep(1000)

      const cutAt = Date.now()
      ns!.partition()
      let deadAt = 0
      await until("c's instance to die", 10_000, () => {
        if (alive(cPid)) return false
        deadAt = Date.now()
        return true
      })
      const code = await sys.agents.get('c')!.exited
      await until('3 counters on a and b', 30_000, async () => {
        const s = await sys.status('a')
        const counts = readyByHost(s, 'counter')
        return counts.c === undefined && (counts.a ?? 0) + (counts.b ?? 0) === 3
      })
      // The replacement: the newest instance on a or b, each as its own host reports it.
      const starts: number[] = []
      for (const host of ['a', 'b']) {
        const at = Date.now()
        for (const i of (await sys.status(host)).units[0]!.instances)
          if (i.label.endsWith(`@${host}`) && i.uptimeMs !== undefined) starts.push(at - i.uptimeMs)
      }
      const replacementAt = Math.max(...starts)
      await sleep(1000)
      const t = await reads.stop()
      console.info(
        `partition: ${t.ok}/${t.issued} reads ok ${JSON.stringify(t.failed)}; c's instance dead ${deadAt - cutAt} ms after the cut, the replacement started ${replacementAt - cutAt} ms after it; agent c exited ${code}`,
      )

      expect(code).toBe(3)
      expect(sys.agents.get('c')!.output.some((l) => l.includes('fenced'))).toBe(true)
      // Never two instances for one slot: c's was dead before its slot's replacement started.
      expect(deadAt).toBeLessThan(replacementAt)
      // Reads to the other hosts all answered; those sent to c's instance are the gap below.
      expect(Object.keys(t.failed).filter((code) => code !== 'TIMEOUT')).toEqual([])
    })

    // Found with this test: a read sent to an instance on the partitioned host is neither
    // answered nor failed over; it hangs to its 5 s deadline (~120 of ~500 reads here): a
    // silent peer is not failed over as a killed one is (transport/broker, not the agents).
    it.todo('fails no idempotent call while a host is partitioned')
  },
)
