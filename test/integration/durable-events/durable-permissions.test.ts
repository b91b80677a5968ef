import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBroker } from '../../../src/broker/index.ts'
import {
  createNatsUserKey,
  type NatsUserKey,
  natsAuthorizationBlock,
  natsPermissions,
  natsTransport,
} from '../../../src/transport/nats/index.ts'
import type { NatsServer } from '../../support/nats-server.ts'
import { until } from '../runtime/support.ts'
import { ledger, type ShopService, shop } from './fixtures/services.ts'
import { ledgerFile, ledgerLines, startJetStreamServer, tally } from './support.ts'

// A server whose users are the units, with the permissions the runtime generates.
const NS = 'durperm'
let server: NatsServer
const logins: Record<'shop' | 'ledger', NatsUserKey> = {} as never
beforeAll(async () => {
  logins.shop = await createNatsUserKey()
  logins.ledger = await createNatsUserKey()
  server = await startJetStreamServer(
    natsAuthorizationBlock(
      (['shop', 'ledger'] as const).map((unit) => ({
        nkey: logins[unit].publicKey,
        permissions: natsPermissions(NS, unit),
      })),
    ),
  )
})
afterAll(() => server?.stop())

describe('durable events under per-unit NATS permissions', () => {
  it('stores and delivers with only the subjects natsPermissions allows', { timeout: 30_000 }, async () => {
    const file = ledgerFile()
    const transport = (unit: 'shop' | 'ledger') =>
      natsTransport({
        servers: server.url,
        namespace: NS,
        unit,
        credentials: { nkeySeed: logins[unit].seed },
      })
    const emitter = createBroker({ nodeId: 'shop-1', services: [shop], transport: transport('shop') })
    const consumer = createBroker({
      nodeId: 'ledger-1',
      services: [ledger(file)],
      transport: transport('ledger'),
    })
    await emitter.start()
    await consumer.start()
    try {
      const client = emitter.client<ShopService>('shop')
      for (let n = 0; n < 20; n++) await client.sell({ n })
      await until(() => ledgerLines(file).length >= 20, '20 sales recorded')
      expect(tally(ledgerLines(file), 20)).toEqual({
        lines: 20,
        missing: [],
        duplicateIds: 0,
        duplicateNs: 0,
      })
    } finally {
      await consumer.stop()
      await emitter.stop()
    }
  })

  it('refuses a unit publishing a durable event under another unit', { timeout: 30_000 }, async () => {
    // ledger emits shop's event on its own transport: its unit token is "ledger", which
    // is allowed; it may not publish under "shop".
    const { connect, nkeyAuthenticator } = await import('nats')
    const nc = await connect({
      servers: server.url,
      authenticator: nkeyAuthenticator(new TextEncoder().encode(logins.ledger.seed)),
      inboxPrefix: `_INBOX_${NS}_ledger`,
    })
    try {
      const js = nc.jetstream()
      // Its own unit token is allowed (the control), another unit's is not.
      await expect(
        js.publish(`tessera.${NS}.durable.ledger.sale.made`, new Uint8Array()),
      ).resolves.toBeDefined()
      await expect(
        js.publish(`tessera.${NS}.durable.shop.sale.made`, new Uint8Array(), { timeout: 2000 }),
      ).rejects.toThrow()
    } finally {
      await nc.close()
    }
  })
})
