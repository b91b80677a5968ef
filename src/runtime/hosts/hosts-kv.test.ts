import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, startNatsServer } from '../../../test/support/nats-server.ts'
import { HostsKv } from './hosts-kv.ts'

let plain: NatsServer
let withJs: NatsServer
let store: string
const open: NatsConnection[] = []
beforeAll(async () => {
  store = await mkdtemp(join(tmpdir(), 'tessera-hostskv-'))
  ;[plain, withJs] = await Promise.all([
    startNatsServer(),
    startNatsServer({ extraConfig: `jetstream { store_dir: ${JSON.stringify(store)} }` }),
  ])
})
afterAll(async () => {
  for (const nc of open) await nc.close()
  await plain?.stop()
  await withJs?.stop()
  await rm(store, { recursive: true, force: true })
})
const to = async (s: NatsServer) => {
  const nc = await connect({ servers: s.url })
  open.push(nc)
  return nc
}

describe('HostsKv.open', () => {
  it('refuses at once, saying what to do, on a server without JetStream', async () => {
    const err = (await HostsKv.open(await to(plain), 'hk-1', 2000).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(Error)
    expect((err as { code?: string }).code).toBe('UNAVAILABLE')
    expect(err.message).toContain('has no JetStream')
    expect(err.message).toContain('-js')
  })

  it('makes both buckets (one replica on a lone server) and keeps a lease in them', async () => {
    const nc = await to(withJs)
    const kv = await HostsKv.open(nc, 'hk-2', 2000)
    const jsm = await nc.jetstreamManager()
    for (const name of ['KV_hk-2-live', 'KV_hk-2-desired'])
      expect((await jsm.streams.info(name)).config.num_replicas).toBe(1)
    expect(await kv.claim('users', 1, 'a')).toBeTypeOf('number')
    expect(await kv.claim('users', 1, 'b')).toBeUndefined()
    expect((await kv.leases()).map((l) => [l.unit, l.slot, l.host])).toEqual([['users', 1, 'a']])
    // Opening again (another agent) binds to the same buckets.
    const again = await HostsKv.open(await to(withJs), 'hk-2', 2000)
    expect((await again.leases()).map((l) => l.host)).toEqual(['a'])
  })
})

describe('HostsKv.write', () => {
  it('renews over a revision it missed when the lease still names this host, and not when it names another', async () => {
    const kv = await HostsKv.open(await to(withJs), 'hk-3', 5000)
    const first = (await kv.claim('orders', 1, 'a'))!
    // A renewal whose answer was lost (it timed out) but that was stored: the caller still
    // holds `first`, the lease is at the next revision and says 'a'.
    const stored = (await kv.write('orders', 1, 'a', first))!
    expect(stored).toBeGreaterThan(first)
    const renewed = await kv.write('orders', 1, 'a', first)
    expect(renewed).toBeGreaterThan(stored)
    // Handed to b meanwhile: a's write with its old revision finds the lease b's.
    await kv.write('orders', 1, 'b', renewed!)
    expect(await kv.write('orders', 1, 'a', renewed!)).toBeUndefined()
    expect((await kv.leases()).map((l) => [l.unit, l.slot, l.host])).toEqual([['orders', 1, 'b']])
  })
})
