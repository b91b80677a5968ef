import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NatsServer } from '../../support/nats-server.ts'
import type { CounterService } from './fixtures/counter.ts'
import { canMakeNamespaces, hasNft, makeNetNs, type NetNs } from './netns.ts'
import { cluster, fixtures, openLoad, readyByHost, sleep, startJetStream, until } from './support.ts'

// Host c is a network namespace of its own (veth to this one, where nats-server listens
// on the veth's outer address); a and b run here. nft dropping every packet on c's link
// partitions the whole host, its agent and its instances, without telling anyone: their
// TCP connections stay open on both ends, so the server keeps their subscriptions and
// probes of c's instances pass. Only their silence gives them away (decision 0030).
const runnable = canMakeNamespaces() && hasNft()
let ns: NetNs | undefined
let nats: NatsServer | undefined
beforeAll(async () => {
  if (!runnable) return
  ns = makeNetNs()
  nats = await startJetStream(ns.outerAddress)
})
afterAll(async () => {
  try {
    ns?.undrop()
  } catch {}
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

const PARTITION_MS = 10_000

describe.skipIf(!runnable)('a host partitioned from NATS by nft for 10 s, then healed, under load', () => {
  it('fails no idempotent call and fails non-idempotent ones fast; c fences itself, exits 3, and rejoins when restarted', {
    timeout: 240_000,
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
    const adds = openLoad('part-add', 50, (key) => counter.add({ key }, { timeout: 5000 }))
    await sleep(1000)

    const cutAt = Date.now()
    ns!.drop()
    let deadAt = 0
    let leftAt = 0
    try {
      // Looked at every 10 ms: deadAt is when the death was seen, at most ~10 ms after it.
      const dieBy = Date.now() + 10_000
      while (alive(cPid)) {
        if (!leftAt && !client.registry.endpoints('counter').some((e) => e.nodeId === onC.nodeId))
          leftAt = Date.now()
        if (Date.now() > dieBy) throw new Error("timed out waiting for c's instance to die")
        await sleep(10)
      }
      deadAt = Date.now()
      await until("c's instance to leave the client's registry", 10_000, () => {
        if (!leftAt && !client.registry.endpoints('counter').some((e) => e.nodeId === onC.nodeId))
          leftAt = Date.now()
        return leftAt > 0
      })
      await until('3 counters on a and b', 30_000, async () => {
        const counts = readyByHost(await sys.status('a'), 'counter')
        return counts.c === undefined && (counts.a ?? 0) + (counts.b ?? 0) === 3
      })
      await sleep(Math.max(0, cutAt + PARTITION_MS - Date.now()))
    } finally {
      ns!.undrop()
    }
    const healedAt = Date.now()
    const fenced = sys.agents.get('c')!
    const code = await fenced.exited
    // The replacement: the newest instance on a or b, each as its own host reports it.
    const starts: number[] = []
    for (const host of ['a', 'b']) {
      const at = Date.now()
      for (const i of (await sys.status(host)).units[0]!.instances)
        if (i.label.endsWith(`@${host}`) && i.uptimeMs !== undefined) starts.push(at - i.uptimeMs)
    }
    const replacementAt = Math.max(...starts)

    // After the heal: c's agent is gone (fenced, exit 3); a service manager restarts it.
    // It joins as a new host with no slots and the system evens out to it by a move.
    await sys.startAgent('c', undefined, ns!.name)
    await until('one counter per host again', 60_000, async () => {
      const s = await sys.status('a') // c's control API listens inside its namespace
      const counts = readyByHost(s, 'counter')
      return s.hosts.some((h) => h.name === 'c') && counts.a === 1 && counts.b === 1 && counts.c === 1
    })
    const rejoinedMs = Date.now() - healedAt
    await sleep(1000)
    const r = await reads.stop()
    const w = await adds.stop()
    console.info(
      `nft partition ${PARTITION_MS} ms: ${r.ok}/${r.issued} reads ok ${JSON.stringify(r.failed)}, ${w.ok}/${w.issued} adds ok ${JSON.stringify(w.failed)} (slowest failure ${w.slowestFailureMs} ms); c's instance left the client's registry ${leftAt - cutAt} ms after the cut, dead ${deadAt - cutAt} ms after it, the replacement started ${replacementAt - cutAt} ms after it; agent c exited ${code}; restarted after the heal, c ran a counter again ${rejoinedMs} ms after the heal`,
    )
    const why = new Map<string, number>()
    for (const reason of w.reasons) {
      const text = reason.slice(reason.indexOf(': ') + 2).replace(/\d+/g, 'N')
      why.set(text, (why.get(text) ?? 0) + 1)
    }
    console.info(`failed adds: ${JSON.stringify([...why])}`)

    expect(code).toBe(3)
    expect(fenced.output.some((l) => l.includes('fenced'))).toBe(true)
    // Never two instances for one slot: c's was dead before its slot's replacement started.
    expect(deadAt).toBeLessThan(replacementAt)
    // Every read answered: those in flight to c's silent instance were retried elsewhere.
    expect(r.failed).toEqual({})
    expect(r.ok).toBe(r.issued)
    // Adds in flight to c's instance may have run there: failed, not retried, before their
    // deadline (UNAVAILABLE, never TIMEOUT; how fast is printed, not asserted).
    expect(Object.keys(w.failed).filter((c) => c !== 'UNAVAILABLE')).toEqual([])
  })
})
