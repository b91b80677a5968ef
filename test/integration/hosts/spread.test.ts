import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readLogs } from '../../../src/runtime/index.ts'
import type { NatsServer } from '../../support/nats-server.ts'
import type { CounterService } from './fixtures/counter.ts'
import { CALM_LEASE, cluster, fixtures, readyByHost, startJetStream, until } from './support.ts'

let nats: NatsServer
beforeAll(async () => {
  nats = await startJetStream()
})
afterAll(() => nats?.stop())

const VIEW_LAG_MS = 4000

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0)

describe('three agents of one system on one NATS', () => {
  it('spread the slots, show every host and the logs of every host from any host, scale and call from any host', {
    timeout: 120_000,
  }, async () => {
    await using sys = await cluster(nats, {
      counter: { entry: `${fixtures}counter.ts`, instances: 3 },
    })
    await Promise.all(['a', 'b', 'c'].map((h) => sys.startAgent(h, undefined, undefined, CALM_LEASE)))
    // One per host as a sees it: an agent that came up late (a busy machine) finds the
    // slots taken and pulls one over by a rebalancing move, which takes a few seconds more.
    await until('3 counters, one per host (no move still draining)', 45_000, async () => {
      const s = await sys.status('a')
      const counts = readyByHost(s, 'counter')
      return counts.a === 1 && counts.b === 1 && counts.c === 1 && s.units[0]!.instances.length === 3
    })
    for (const via of ['a', 'b', 'c']) {
      await until(`${via} to see every host's counter`, VIEW_LAG_MS, async () => {
        const counts = readyByHost(await sys.status(via), 'counter')
        return counts.a === 1 && counts.b === 1 && counts.c === 1
      })
      const s = await sys.status(via)
      expect(s.hosts.map((h) => h.name)).toEqual(['a', 'b', 'c'])
      expect(s.units[0]!.instances.map((i) => i.label).sort()).toEqual([
        'counter#1@a',
        'counter#1@b',
        'counter#1@c',
      ])
    }
    // The CLI on any host prints every host and every instance.
    const printed = await sys.cli('status', '--host', 'b')
    expect(printed).toContain('hosts: a, b, c')
    for (const label of ['counter#1@a', 'counter#1@b', 'counter#1@c']) expect(printed).toContain(label)

    // Logs from any host: a's agent reads its own files and asks b's and c's agents for
    // theirs; each line comes with its host (every host's files name its instance counter#1).
    const filed = async (host: string) =>
      (await readLogs(join(sys.config.stateDir!, 'hosts', host, 'logs'), { units: ['counter'] })).length
    const fromA = (await sys.cli('logs', 'counter', '--host', 'a', '--json'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { instance?: string; host?: string; time?: string })
    for (const host of ['a', 'b', 'c']) {
      const lines = fromA.filter((r) => r.host === host)
      expect(lines.length).toBeGreaterThan(0)
      expect(lines.length).toBeLessThanOrEqual(await filed(host))
      expect(lines.some((r) => r.instance === `counter#1@${host}`)).toBe(true)
    }
    const times = fromA.map((r) => Date.parse(String(r.time)))
    expect(times).toEqual([...times].sort((x, y) => x - y)) // merged by time
    // Readable lines too, from another host, the limit over all hosts.
    const lastTwo = (await sys.cli('logs', 'counter', '--host', 'c', '-n', '2')).trim().split('\n')
    expect(lastTwo).toHaveLength(2)

    const client = await sys.client()
    await client.waitFor(['counter'], 10_000)
    const counter = client.client<CounterService>('counter')
    expect(await counter.read({ key: 'hello' })).toBe('hello')

    // Following from a: what the scale below writes on b and c shows up there (-n 0: only new lines).
    const followFrom = Date.now()
    const follow = sys.spawnCli('logs', 'counter', '--host', 'a', '-f', '--json', '-n', '0')

    // scale answers once the host it was asked of sees the count ready everywhere; another
    // host's view of the others is at most one renewal (1.5 s) older.
    await (await sys.agents.get('b')!.control()).run('scale', { unit: 'counter', instances: 5 })
    expect(total(readyByHost(await sys.status('b'), 'counter'))).toBe(5)
    await until(
      'c to see 5',
      VIEW_LAG_MS,
      async () => total(readyByHost(await sys.status('c'), 'counter')) === 5,
    )
    expect(Object.values(readyByHost(await sys.status('c'), 'counter')).sort()).toEqual([1, 2, 2])

    await (await sys.agents.get('c')!.control()).run('scale', { unit: 'counter', instances: 2 })
    expect(total(readyByHost(await sys.status('c'), 'counter'))).toBe(2)
    await until('a to see 2', VIEW_LAG_MS, async () => {
      const s = await sys.status('a')
      return s.units[0]!.instances.length === 2 && total(readyByHost(s, 'counter')) === 2
    })

    const followed = () =>
      follow.lines
        .filter((l) => !l.startsWith('stderr: '))
        .map((l) => JSON.parse(l) as { host?: string; time?: string })
    await until('the follower to print new lines of b and c', 10_000, () =>
      ['b', 'c'].every((h) => followed().some((r) => r.host === h)),
    ).catch((err) => {
      console.info(`followed:\n${follow.lines.join('\n')}`)
      throw err
    })
    await follow.stop()
    // A poll the busy agent did not answer is said and asked again; nothing else on stderr.
    expect(
      follow.lines.filter((l) => l.startsWith('stderr: ') && !l.includes('asking again every second')),
    ).toEqual([])
    expect(followed().every((r) => Date.parse(String(r.time)) >= followFrom)).toBe(true) // -n 0: new lines only
    expect(new Set(follow.lines).size).toBe(follow.lines.length) // each line once

    const called = await (await sys.agents.get('c')!.control()).run('call', {
      service: 'counter',
      action: 'read',
      input: { key: 'via-c' },
    })
    expect(called).toBe('via-c')
  })
})
