// The issue-11 scenario: the reference system over 3 hosts under load through every fault
// in turn. Green five runs in a row on a 2-core machine on 2–3 December 2026 (0 failed
// reads and orders in every phase; one registration of ~60 failed, fast, with 503, where an
// instance was cut off with it). The agents' 30 s lease is what JetStream's recovery after
// every server is killed needs here (the hosts' KV took writes again ~10.7 s after the kill).
import { readFileSync } from 'node:fs'
import { connect } from 'nats'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { type NatsCluster, startNatsCluster } from '../../support/nats-cluster.ts'
import { type PostgresServer, postgresAvailable, startPostgres } from '../../support/postgres.ts'
import { canMakeNamespaces, hasNft, makeSwitch, type NetSwitch } from './netns.ts'
import { type Owned, type ReferenceHosts, relay, startReferenceHosts } from './reference-hosts.ts'
import { shopClient } from './shop-client.ts'
import { type LoadTally, openLoad, readyByHost, sleep, until } from './support.ts'

// The reference system (examples/reference) split over 3 hosts: a, b and c are network
// namespaces on one switch (a bridge here). On the bridge listen a 3-node nats-server
// cluster with JetStream (every agent and instance gets all three URLs) and, through a
// relay, one PostgreSQL that every service of every host keeps its data in (units move
// between hosts, so their data may not be a file of one host). The phases run in turn on
// the one running system, each under its own open-loop HTTP load through the gateways of
// a and b, each with its own tally: move a unit, kill one NATS server, kill all three for
// 2 s, partition c with nft for 10 s, SIGKILL host b.
const runnable = canMakeNamespaces() && hasNft() && postgresAvailable()
let net: NetSwitch | undefined
let nats: NatsCluster | undefined
let postgres: PostgresServer | undefined
let pgRelay: Owned | undefined
let databaseUrl = ''
beforeAll(async () => {
  if (!runnable) return
  net = makeSwitch(3)
  nats = await startNatsCluster(3, { address: net.address, jetstream: true })
  postgres = await startPostgres()
  const local = await postgres.createDatabase('reference')
  // A host cut off in the middle of a transaction keeps its row locks until PostgreSQL
  // drops the session, and nothing crosses the cut to tell it: end such sessions.
  const admin = new pg.Client({ connectionString: local })
  await admin.connect()
  await admin.query(`alter database reference set idle_in_transaction_session_timeout = '3s'`)
  await admin.end()
  const r = await relay(net.address, { host: '127.0.0.1', port: postgres.port })
  pgRelay = r
  databaseUrl = `postgres://postgres@${net.address}:${r.port}/reference`
}, 60_000)
afterAll(async () => {
  for (const h of net?.hosts ?? []) {
    try {
      h.undrop()
    } catch {}
  }
  pgRelay?.killAll()
  await postgres?.stop()
  await nats?.stop()
  net?.remove()
})

// Leases must outlive JetStream's recovery after every server is killed, or every agent
// fences (docs/hosts.md): the hosts' KV has 3 replicas, whose stream elects its leader
// only after the meta leader (6–9 s) — on a loaded 2-core machine once more than 15 s.
// 30 s: an agent fences after 22.5 s without a renewal.
const LEASE_MS = 30_000
const PARTITION_MS = 10_000
const TEA = [{ productId: 'tea-sencha', quantity: 1 }]
const STOCK = 1_000_000
// Requests per second: reads (catalog list and product, Ada's orders and profile, in
// turn), order placements, registrations (scrypt: the costliest request). Modest, since
// 17 instances, 3 agents, 3 NATS servers and PostgreSQL share the machine's 2 cores.
const RATES = { reads: 40, orders: 5, registrations: 1 }

/** The client connection names on cluster server `index` (its monitoring port is in its config file). */
async function connectionNames(index: number): Promise<string[]> {
  const args = readFileSync(`/proc/${nats!.servers[index]!.pid}/cmdline`, 'utf8').split('\0')
  const conf = readFileSync(args[args.indexOf('-c') + 1]!, 'utf8')
  const port = /^http: 127\.0\.0\.1:(\d+)/m.exec(conf)?.[1]
  const res = await fetch(`http://127.0.0.1:${port}/connz?limit=1024`)
  const body = (await res.json()) as { connections?: { name?: string }[] }
  return (body.connections ?? []).map((c) => c.name ?? '')
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0)
const tallyText = (t: LoadTally) =>
  `${t.ok}/${t.issued} ok${sum(t.failed) ? ` ${JSON.stringify(t.failed)} slowest failure ${t.slowestFailureMs} ms` : ''}`

describe.skipIf(!runnable)(
  'the reference system over 3 hosts under load, through every fault in turn',
  () => {
    it('fails no read and no keyed order; registrations fail fast and are counted; every order took stock once', {
      timeout: 420_000,
    }, async () => {
      await using sys: ReferenceHosts = await startReferenceHosts({
        net: net!,
        natsUrls: nats!.urls,
        databaseUrl,
        leaseTtlMs: LEASE_MS,
      })
      const startedAt = Date.now()
      await Promise.all(['a', 'b', 'c'].map((h) => sys.startAgent(h)))
      const placed = async () => {
        const s = await sys.status()
        const by = (u: string) => readyByHost(s, u)
        return {
          s,
          ok:
            s.hosts.length === 3 &&
            sum(by('users')) === 2 &&
            sum(by('auth')) === 2 &&
            Object.keys(by('catalog')).length === 3 &&
            sum(by('catalog')) === 3 &&
            sum(by('orders')) === 3 &&
            sum(by('notifications')) === 1 &&
            sum(by('quotes')) === 1 &&
            by('gateway').a === 1 &&
            by('gateway').b === 1,
        }
      }
      await until('the reference system ready over a, b and c', 150_000, async () => (await placed()).ok)
      const upMs = Date.now() - startedAt
      const spread = (await placed()).s
      const where = (s: typeof spread) =>
        s.units.map((u) => `${u.name} ${JSON.stringify(readyByHost(s, u.name))}`).join(', ')
      console.info(`reference over 3 hosts ready ${upMs} ms after the agents started: ${where(spread)}`)
      // Units on at least two hosts each (the test's precondition, not the system's claim).
      for (const unit of ['users', 'auth', 'catalog', 'orders', 'gateway'])
        expect(Object.keys(readyByHost(spread, unit)).length).toBeGreaterThanOrEqual(2)

      const db = new pg.Client({ connectionString: databaseUrl })
      db.on('error', () => {}) // the relay may go first when the test ends
      await db.connect()
      // The seed has 100 of it; the load orders thousands. Stock is the test's to set.
      await db.query('update catalog.products set stock = $1 where id = $2', [STOCK, 'tea-sencha'])

      const shop = shopClient(sys.gateways)
      const ada = (
        await shop.send('POST', '/auth/register', {
          body: { email: 'ada@example.com', password: 'correct horse battery', name: 'Ada' },
          retry: false,
        })
      ).body as { accessToken: string; userId: string }
      const token = ada.accessToken

      const reads = [
        () => shop.send('GET', '/products', { retry: true }),
        () => shop.send('GET', '/products/tea-sencha', { retry: true }),
        () => shop.send('GET', '/orders?limit=5', { token, retry: true }),
        () => shop.send('GET', '/me', { token, retry: true }),
      ]
      const placedKeys: string[] = []
      const phase = async (name: string, fault: () => Promise<string>) => {
        // Keys name the phase; they are also idempotency keys and e-mail addresses.
        const id = name.replace(/[^a-z0-9]+/gi, '-')
        const r = openLoad(`${id}-read`, RATES.reads, (key) =>
          reads[Number(key.slice(key.lastIndexOf('-') + 1)) % 4]!(),
        )
        const p = openLoad(`${id}-place`, RATES.orders, (key) =>
          shop.send('POST', '/orders', { body: { idempotencyKey: key, items: TEA }, token, retry: true }),
        )
        const g = openLoad(`${id}-reg`, RATES.registrations, (key) =>
          shop.send('POST', '/auth/register', {
            body: { email: `${key}@example.com`, password: 'correct horse battery', name: 'Load' },
            retry: false,
          }),
        )
        await sleep(1500)
        const facts = await fault()
        await sleep(1500)
        console.info(`after ${name}: ${where(await sys.status())}`)
        const tally = { reads: await r.stop(), places: await p.stop(), registers: await g.stop() }
        placedKeys.push(...tally.places.okKeys)
        console.info(
          `${name}: reads ${tallyText(tally.reads)}; orders ${tallyText(tally.places)}; registrations ${tallyText(tally.registers)}; ${facts}`,
        )
        const why = new Map<string, number>()
        for (const reason of [...tally.reads.reasons, ...tally.places.reasons, ...tally.registers.reasons]) {
          const text = reason.slice(reason.indexOf(': ') + 2).replace(/\d+/g, 'N')
          why.set(text, (why.get(text) ?? 0) + 1)
        }
        if (why.size) console.info(`${name} failures: ${JSON.stringify([...why])}`)
        return tally
      }
      /** What every phase asserts: no read and no keyed order failed; registrations did not hang. */
      const expectServed = (t: Awaited<ReturnType<typeof phase>>) => {
        expect.soft(t.reads.failed).toEqual({})
        expect.soft(t.reads.ok).toBe(t.reads.issued)
        expect.soft(t.places.failed).toEqual({})
        expect.soft(t.places.ok).toBe(t.places.issued)
        // A registration in flight where an instance was lost may have run: it is not
        // repeated, it fails — with 503 (UNAVAILABLE) or a reset, never after the deadline.
        expect
          .soft(Object.keys(t.registers.failed).filter((c) => c !== 'HTTP_503' && c !== 'ECONNRESET'))
          .toEqual([])
        if (sum(t.registers.failed) > 0) expect.soft(t.registers.slowestFailureMs).toBeLessThan(10_000)
      }
      const pidsOf = (s: typeof spread) =>
        Object.fromEntries(s.units.flatMap((u) => u.instances).map((i) => [i.label, i.pid]))
      const noneFenced = () => {
        for (const agent of sys.agents.values()) {
          expect.soft(agent.child.exitCode).toBeNull()
          expect.soft(agent.output.some((l) => l.includes('fenced'))).toBe(false)
        }
      }

      // What the agents said (claims, moves, fences), for the record and for a failure.
      onTestFinished(() => {
        for (const [host, agent] of sys.agents)
          console.info(`agent ${host} said:\n  ${agent.output.slice(-60).join('\n  ')}`)
      })

      // 1. Move: every orders instance to a, under load.
      const moved = await phase('move orders to a', async () => {
        const at = Date.now()
        await sys.cli('b', 'move', 'orders', '--to', 'a')
        const answered = Date.now() - at
        await until("b's and c's orders instances drained", 20_000, async () => {
          const s = await sys.status()
          const orders = s.units.find((u) => u.name === 'orders')
          return JSON.stringify(readyByHost(s, 'orders')) === '{"a":3}' && orders?.instances.length === 3
        })
        return `move answered after ${answered} ms, the old instances gone ${Date.now() - at} ms after it began`
      })
      expectServed(moved)

      // 2. One NATS server killed: the one holding the hosts' KV stream, the worst for the
      // agents. Clients on it reconnect to the other two; it comes back after 5 s.
      const before2 = pidsOf(await sys.status())
      const one = await phase('one NATS server killed', async () => {
        const nc = await connect({ servers: nats!.urls })
        const jsm = await nc.jetstreamManager()
        const streams = await jsm.streams.list().next()
        const live = streams.find((s) => s.config.name.endsWith('-live'))
        const leader = live?.cluster?.leader ?? 'n1'
        const replicas = live?.config.num_replicas
        await nc.close()
        const index = Number(leader.slice(1)) - 1
        const onIt = await connectionNames(index)
        // An instance's connection is named `tessera:<nodeId>`, its node id `<system>-<unit>-…`.
        const units = (unit: string) => onIt.filter((n) => n.startsWith(`tessera:${unit}-`)).length
        const at = Date.now()
        await nats!.servers[index]!.kill()
        await sleep(5000)
        await nats!.servers[index]!.restart()
        await nats!.routed()
        return `killed ${leader} (leader of the hosts' KV stream, ${replicas} replica(s)) for 5 s (it held the connections of ${units('reference-orders')} orders, ${units('reference-catalog')} catalog, ${units('reference-gateway')} gateway, ${units('reference-auth')} auth, ${units('reference-users')} users instances); cluster routed again ${Date.now() - at} ms after the kill`
      })
      expectServed(one)
      noneFenced()
      expect.soft(pidsOf(await sys.status())).toEqual(before2)

      // 3. Every NATS server killed, all restarted 2 s later.
      const before3 = pidsOf(await sys.status())
      const all = await phase('all NATS servers killed 2 s', async () => {
        const at = Date.now()
        await Promise.all(nats!.servers.map((s) => s.kill()))
        await sleep(2000)
        await Promise.all(nats!.servers.map((s) => s.restart()))
        await nats!.routed()
        const back = Date.now() - at
        // The hosts' KV takes writes again once its stream has a leader again.
        const nc = await connect({ servers: nats!.urls })
        const jsm = await nc.jetstreamManager()
        await until('the hosts KV stream to have a leader', 40_000, async () => {
          const streams = await jsm.streams
            .list()
            .next()
            .catch(() => [])
          const live = streams.find((st) => st.config.name.endsWith('-live'))
          return live?.cluster?.leader !== undefined
        })
        const kvBack = Date.now() - at
        await nc.close()
        await until('every host seen again', 30_000, async () => (await sys.status()).hosts.length === 3)
        return `cluster routed with a JetStream leader ${back} ms after the kill, the hosts' KV stream had its leader ${kvBack} ms after it, every host seen ${Date.now() - at} ms after it`
      })
      expectServed(all)
      noneFenced()
      expect.soft(pidsOf(await sys.status())).toEqual(before3)

      // 4. Host c partitioned by nft for 10 s, then healed. Its leases (30 s) outlive the
      // cut, so c does not fence: its instances go silent, callers fail over and drop them.
      const c = net!.hosts[2]!
      const part = await phase('c partitioned 10 s', async () => {
        const at = Date.now()
        c.drop()
        try {
          await sleep(PARTITION_MS)
        } finally {
          c.undrop()
        }
        const healed = Date.now()
        await until('c seen again with its instances', 30_000, async () => (await placed()).ok)
        return `after the heal every host and instance ready again in ${Date.now() - healed} ms (cut at +0, healed at +${healed - at} ms)`
      })
      expectServed(part)
      noneFenced()

      // 5. Host b SIGKILLed whole: its agent and every instance (its process group).
      const kill = await phase('b SIGKILLed', async () => {
        const at = Date.now()
        sys.agents.get('b')!.killAll()
        await until(
          'b to leave the hosts',
          40_000,
          async () => !(await sys.status()).hosts.some((h) => h.name === 'b'),
        )
        const left = Date.now() - at
        await until("b's slots running on a and c", 40_000, async () => {
          const s = await sys.status()
          return (
            readyByHost(s, 'gateway').a === 2 &&
            sum(readyByHost(s, 'users')) === 2 &&
            sum(readyByHost(s, 'auth')) === 2 &&
            sum(readyByHost(s, 'catalog')) === 3 &&
            sum(readyByHost(s, 'notifications')) === 1 &&
            sum(readyByHost(s, 'quotes')) === 1
          )
        })
        return `b left the hosts ${left} ms after the kill (lease ${LEASE_MS} ms), its slots ran on a and c ${Date.now() - at} ms after it: ${where(await sys.status())}`
      })
      expectServed(kill)

      // Every order the load was told was placed exists once, and took its stock once.
      const orders = await db.query<{ n: string }>('select count(*) as n from orders.orders')
      const keys = await db.query<{ idempotency_key: string }>('select idempotency_key from orders.orders')
      const stock = await db.query<{ stock: number }>('select stock from catalog.products where id = $1', [
        'tea-sencha',
      ])
      const found = new Set(keys.rows.map((r) => r.idempotency_key))
      const missing = placedKeys.filter((k) => !found.has(k))
      console.info(
        `orders: ${placedKeys.length} answered placed, ${orders.rows[0]!.n} in the database, stock taken ${STOCK - stock.rows[0]!.stock}; total ${Date.now() - startedAt} ms`,
      )
      expect(missing).toEqual([])
      expect(Number(orders.rows[0]!.n)).toBe(placedKeys.length)
      expect(STOCK - stock.rows[0]!.stock).toBe(placedKeys.length)
      await db.end()
      shop.close()
    })
  },
)
