import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Type as T } from '@sinclair/typebox'
import { connect, nkeyAuthenticator } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Broker, createBroker } from '../../../src/broker/index.ts'
import { encodeEnvelope } from '../../../src/codec/index.ts'
import { type AnyService, defineService } from '../../../src/contract/index.ts'
import { type Authority, createAuthority } from '../../../src/identity/index.ts'
import { loadNatsLogins, loadSystem, type NatsLogins } from '../../../src/runtime/index.ts'
import type { NatsCredentials } from '../../../src/transport/nats/index.ts'
import { natsTransport } from '../../../src/transport/nats/index.ts'
import { type NatsServer, startNatsServer } from '../../support/nats-server.ts'

// A system on NATS whose server admits exactly the users `tessera nats-config` wrote for
// it: each unit its own nkey, allowed to publish only as itself. Brokers run with
// runtime-style credentials and their unit's login.

const bin = fileURLToPath(new URL('../../../bin/tessera.mjs', import.meta.url))
let dir: string
let server: NatsServer
let logins: NatsLogins
let authority: Authority
const brokers: Broker[] = []

const seen: (string | undefined)[] = []
const users = defineService({
  name: 'users',
  actions: ({ action }) => ({
    get: action({
      input: T.Object({ id: T.String() }),
      output: T.Object({ id: T.String() }),
      callers: ['orders'],
      handler: ({ id }, ctx) => {
        seen.push(ctx.caller)
        return { id }
      },
    }),
  }),
})
const orders = defineService({
  name: 'orders',
  actions: ({ action }) => ({
    place: action({
      input: T.Object({ user: T.String() }),
      output: T.Object({ id: T.String() }),
      handler: ({ user }, ctx) => ctx.client<typeof users>('users').get({ id: user }),
    }),
  }),
})

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tnp-'))
  const config = join(dir, 'tessera.config.ts')
  await writeFile(join(dir, 'package.json'), '{"type":"module"}\n')
  await writeFile(
    config,
    `export default ${JSON.stringify({
      name: 'shop',
      transport: { kind: 'nats', servers: 'nats://127.0.0.1:4222' },
      stateDir: join(dir, 'state'),
      services: {
        users: { entry: './users.ts' },
        orders: { entry: './orders.ts', dependsOn: ['users'] },
      },
    })}\n`,
  )
  const out = join(dir, 'nats-auth.conf')
  await promisify(execFile)(process.execPath, [bin, 'nats-config', '-c', config, '-o', out], {
    timeout: 60_000,
  })
  server = await startNatsServer({ extraConfig: await readFile(out, 'utf8') })
  const system = await loadSystem(config)
  logins = await loadNatsLogins(system.config, system.root)
  authority = createAuthority()
}, 90_000)
afterAll(async () => {
  for (const b of brokers.splice(0).reverse()) await b.stop()
  await server?.stop()
  await rm(dir, { recursive: true, force: true })
})

async function start(unit: string, services: AnyService[], login: NatsCredentials = logins.loginFor(unit)) {
  const nodeId = `shop-${unit}-0-1-${brokers.length}`
  const credential = authority.issue({
    node: nodeId,
    unit,
    services: services.map((s) => s.name),
    assertsPrincipal: false,
  })
  const broker = createBroker({
    nodeId,
    services,
    credential,
    transport: natsTransport({
      servers: server.url,
      namespace: logins.namespace,
      credentials: login,
      credential,
    }),
  })
  brokers.push(broker)
  await broker.start()
  return broker
}

describe('tessera nats-config and per-unit NATS logins', () => {
  it('keeps the logins in a 0600 file of the state dir, the same on every load', async () => {
    expect((await stat(join(dir, 'state', 'nats-logins.json'))).mode & 0o777).toBe(0o600)
    const system = await loadSystem(join(dir, 'tessera.config.ts'))
    const again = await loadNatsLogins(system.config, system.root)
    expect(again.loginFor('orders')).toEqual(logins.loginFor('orders'))
    expect(logins.units).toEqual(['users', 'orders', 'supervisor', 'client'])
    expect(() => logins.loginFor('billing')).toThrow(/no unit billing/)
    expect(logins.serverConfig()).not.toContain((logins.loginFor('orders') as { nkeySeed: string }).nkeySeed)
  })

  it('lets a broker with a credential take calls over NATS, from the verified caller', async () => {
    await start('users', [users])
    const front = await start('orders', [orders])
    await front.waitFor(['users'], 5_000)
    expect(await front.call('orders', 'place', { user: 'u-1' })).toEqual({ id: 'u-1' })
    expect(seen).toEqual(['orders'])
  })

  it("refuses one unit's login as another unit: its publishes are violations, its transport does not start", async () => {
    // users' login cannot join as orders: its subjects carry unit 'orders'.
    const credential = authority.issue({
      node: 'shop-orders-9',
      unit: 'orders',
      services: ['orders'],
      assertsPrincipal: false,
    })
    const impostor = natsTransport({
      servers: server.url,
      namespace: logins.namespace,
      credentials: logins.loginFor('users'),
      credential,
    })
    const errors: string[] = []
    const nc = await connect({
      servers: server.url,
      authenticator: nkeyAuthenticator(
        new TextEncoder().encode((logins.loginFor('users') as { nkeySeed: string }).nkeySeed),
      ),
    })
    try {
      void (async () => {
        for await (const s of nc.status()) if (s.permissionContext) errors.push(s.permissionContext.subject)
      })()
      const subject = `tessera.${logins.namespace}.discovery.orders.shop-orders-9`
      nc.publish(subject, encodeEnvelope({ kind: 'bye', nodeId: 'shop-orders-9' }))
      await nc.flush()
      const until = Date.now() + 5_000
      while (errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
      expect(errors).toEqual([subject])
      // And a transport built that way would subscribe where users' login may not: it
      // does not start, rather than run deaf.
      const handlers = { onMessage() {}, onPeer() {}, onPeerGone() {} }
      await expect(
        impostor.start({ nodeId: 'shop-orders-9', seq: 1, services: [] }, handlers),
      ).rejects.toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringMatching(/refused this node's subscriptions as unit orders/),
      })
    } finally {
      await impostor.close()
      await nc.close()
    }
  })
})
