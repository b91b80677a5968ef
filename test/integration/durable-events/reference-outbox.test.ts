import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import SQLite from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { type AuthService, createAuthService } from '../../../examples/reference/services/auth/service.ts'
import { createNotificationsService } from '../../../examples/reference/services/notifications/service.ts'
import type { OrdersService } from '../../../examples/reference/services/orders/service.ts'
import type { UsersService } from '../../../examples/reference/services/users/service.ts'
import { TEST_KEYS } from '../../../examples/reference/test/helpers.ts'
import { type Broker, createBroker } from '../../../src/broker/index.ts'
import { fakeService } from '../../../src/testkit/index.ts'
import { until } from '../runtime/support.ts'
import { type DurableSide, killChild, ledgerFile, natsKind, socketKind, startOrders } from './support.ts'

// The same flows on both transports with durable events: NATS with JetStream, and the
// socket transport with its event store (a process of its own, as the supervisor serves it).
const kinds = [natsKind(), socketKind()]
afterAll(async () => {
  for (const kind of kinds) await kind.stop()
})

const principal = { principal: { id: 'u-ada', roles: ['user'] } }

/** A notifications node here, on its own SQLite file. */
async function startNotifications(side: DurableSide, namespace: string, file: string): Promise<Broker> {
  const broker = createBroker({
    nodeId: `${namespace}-notifications-${Math.random().toString(36).slice(2, 6)}`,
    services: [createNotificationsService({ database: { kind: 'sqlite', file }, durableEvents: true })],
    transport: side.transport(),
  })
  await broker.start()
  return broker
}

/** The sources of the stored order notifications (unique by schema: a second effect would fail, not add). */
function receipts(file: string): string[] {
  const db = new SQLite(file, { readonly: true, fileMustExist: true })
  try {
    return (
      db.prepare("SELECT source FROM notifications WHERE kind = 'order-placed'").all() as { source: string }[]
    ).map((r) => r.source)
  } catch {
    return []
  } finally {
    db.close()
  }
}

/** A client node that places orders through the orders process. */
async function startClient(side: DurableSide, namespace: string): Promise<Broker> {
  const client = createBroker({
    nodeId: `${namespace}-client`,
    transport: side.transport(),
  })
  await client.start()
  await client.waitFor(['orders'], 15_000)
  return client
}

describe.each(kinds)('the reference order flow with durable order.placed (outbox, $name)', (kind) => {
  it('loses no receipt while notifications is down for 30 s as orders are placed, and repeats none', {
    timeout: 90_000,
  }, async () => {
    const dir = ledgerFile().replace(/ledger\.txt$/, '')
    const ns = 'refdown'
    const side = await kind.side(ns)
    let orders: ChildProcess | undefined
    let notifications: Broker | undefined
    let client: Broker | undefined
    try {
      orders = await startOrders({ ...side.env, ORDERS_DB: join(dir, 'orders.sqlite') })
      client = await startClient(side, ns)
      const place = client.client<OrdersService>('orders').place
      const ids: string[] = []
      // Notifications is not running: 30 orders over 30 s.
      const until30 = Date.now() + 30_000
      for (let i = 0; Date.now() < until30; i++) {
        const order = await place(
          {
            idempotencyKey: `key-down-${String(i).padStart(4, '0')}`,
            items: [{ productId: 'tea', quantity: 1 }],
          },
          principal,
        )
        ids.push(order.id)
        await new Promise((r) => setTimeout(r, 1000))
      }
      expect(ids.length).toBeGreaterThanOrEqual(25)
      notifications = await startNotifications(side, ns, join(dir, 'notifications.sqlite'))
      const file = join(dir, 'notifications.sqlite')
      await until(() => receipts(file).length >= ids.length, 'a receipt for every order', 30_000)
      await new Promise((r) => setTimeout(r, 2000))
      const got = receipts(file)
      expect(got).toHaveLength(ids.length)
      expect(new Set(got)).toEqual(new Set(ids.map((id) => `order.placed:${id}`)))
    } finally {
      await client?.stop()
      await notifications?.stop()
      await killChild(orders)
    }
  })

  it('sends what committed when orders is SIGKILLed between the commit and the publish', {
    timeout: 60_000,
  }, async () => {
    const dir = ledgerFile().replace(/ledger\.txt$/, '')
    const ns = 'refkill'
    const side = await kind.side(ns)
    const ordersDb = join(dir, 'orders.sqlite')
    const file = join(dir, 'notifications.sqlite')
    let orders: ChildProcess | undefined
    let client: Broker | undefined
    const notifications = await startNotifications(side, ns, file)
    try {
      // This orders process commits orders and their events but never publishes: its relay is off.
      orders = await startOrders({ ...side.env, ORDERS_DB: ordersDb, RELAY: '0' })
      client = await startClient(side, ns)
      const place = client.client<OrdersService>('orders').place
      const ids: string[] = []
      for (let i = 0; i < 20; i++) {
        const order = await place(
          {
            idempotencyKey: `key-kill-${String(i).padStart(4, '0')}`,
            items: [{ productId: 'tea', quantity: 2 }],
          },
          principal,
        )
        ids.push(order.id)
      }
      await killChild(orders)
      await new Promise((r) => setTimeout(r, 1000))
      expect(receipts(file)).toEqual([])
      // The next orders process (relay on) finds the committed, unsent rows and sends them.
      orders = await startOrders({ ...side.env, ORDERS_DB: ordersDb })
      await until(() => receipts(file).length >= 20, 'a receipt for every committed order', 30_000)
      await new Promise((r) => setTimeout(r, 2000))
      const got = receipts(file)
      expect(got).toHaveLength(20)
      expect(new Set(got)).toEqual(new Set(ids.map((id) => `order.placed:${id}`)))
      const outbox = new SQLite(ordersDb, { readonly: true })
      try {
        expect(outbox.prepare('SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL').get()).toEqual({
          n: 0,
        })
      } finally {
        outbox.close()
      }
    } finally {
      await client?.stop()
      await notifications.stop()
      await killChild(orders)
    }
  })
})

describe.each(kinds)(
  'the reference registration flow with durable user.registered (outbox, $name)',
  (kind) => {
    it('welcomes every user registered while notifications is down, once', { timeout: 60_000 }, async () => {
      const dir = ledgerFile().replace(/ledger\.txt$/, '')
      const ns = 'refauth'
      const side = await kind.side(ns)
      const users = fakeService<UsersService>(
        'users',
        {
          create: ({ id, email, name }) => ({ id, email, name, createdAt: '2024-01-01T00:00:00.000Z' }),
        },
        { idempotent: ['create'] },
      )
      const auth = createBroker({
        nodeId: `${ns}-auth`,
        services: [
          createAuthService({
            privateKey: TEST_KEYS.privatePem,
            database: { kind: 'sqlite', file: join(dir, 'auth.sqlite') },
            durableEvents: true,
          }),
          users,
        ],
        transport: side.transport(),
      })
      await auth.start()
      let notifications: Broker | undefined
      try {
        const register = auth.client<AuthService>('auth').register
        for (let i = 0; i < 10; i++) {
          await register({
            email: `user${i}@example.com`,
            password: 'correct horse battery',
            name: `User ${i}`,
          })
        }
        const file = join(dir, 'notifications.sqlite')
        notifications = await startNotifications(side, ns, file)
        const welcomes = () => {
          const db = new SQLite(file, { readonly: true })
          try {
            return (
              db.prepare("SELECT source FROM notifications WHERE kind = 'welcome'").all() as {
                source: string
              }[]
            ).map((r) => r.source)
          } finally {
            db.close()
          }
        }
        await until(() => welcomes().length >= 10, '10 welcomes', 30_000)
        await new Promise((r) => setTimeout(r, 1500))
        expect(welcomes()).toHaveLength(10)
        expect(new Set(welcomes()).size).toBe(10)
      } finally {
        await notifications?.stop()
        await auth.stop()
      }
    })
  },
)
