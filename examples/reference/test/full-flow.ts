/**
 * The whole reference system in one test system (auth → users, orders → users + catalog,
 * events → notifications), as a set of tests that run on any database: the SQLite file
 * declares them over temp files, the PostgreSQL file over a real server.
 */

import type { AnyService } from 'tessera/contract'
import { startTestSystem } from 'tessera/testkit'
import { expect, it } from 'vitest'
import { type AuthService, createAuthService } from '../services/auth/service.ts'
import { type CatalogService, createCatalogService } from '../services/catalog/service.ts'
import { createNotificationsService, type NotificationsService } from '../services/notifications/service.ts'
import { createOrdersService, type OrdersService } from '../services/orders/service.ts'
import { createUsersService } from '../services/users/service.ts'
import { type DatabasesFor, eventually, principalOf, rejectionOf, TEST_KEYS } from './helpers.ts'

/** Every database-backed reference service, each on its own database from `configFor`. */
export function referenceServices(configFor: DatabasesFor): AnyService[] {
  return [
    createAuthService({ database: configFor('auth'), privateKey: TEST_KEYS.privateKey }),
    createUsersService({ database: configFor('users') }),
    createCatalogService({ database: configFor('catalog') }),
    createOrdersService({ database: configFor('orders') }),
    createNotificationsService({ database: configFor('notifications') }),
  ]
}

/** Gives each test fresh databases; the returned disposer removes them. */
export type FreshDatabases = () => Promise<{ configFor: DatabasesFor; dispose(): Promise<void> }>

const ada = { email: 'ada@example.com', password: 'correct horse battery', name: 'Ada' }
const tea = (quantity: number) => [{ productId: 'tea-sencha', quantity }]

async function startReference(fresh: FreshDatabases) {
  const dbs = await fresh()
  const system = await startTestSystem({ services: referenceServices(dbs.configFor) })
  const auth = system.client<AuthService>('auth')
  const orders = system.client<OrdersService>('orders')
  const catalog = system.client<CatalogService>('catalog')
  const notifications = system.client<NotificationsService>('notifications')
  return {
    system,
    auth,
    orders,
    catalog,
    notifications,
    /** Registers Ada and returns her tokens and the principal the gateway would derive. */
    async signUp() {
      const tokens = await auth.register(ada)
      return { tokens, as: { principal: await principalOf(tokens.accessToken) } }
    },
    async [Symbol.asyncDispose]() {
      await system.stop()
      await dbs.dispose()
    },
  }
}

/** Declares the full-flow tests against databases from `fresh`. */
export function fullFlowTests(fresh: FreshDatabases): void {
  it('registers, logs in, places an order, and stores its notification', async () => {
    await using ref = await startReference(fresh)
    const { tokens } = await ref.signUp()
    const login = await ref.auth.login({ email: ada.email, password: ada.password })
    expect(login.userId).toBe(tokens.userId)
    const as = { principal: await principalOf(login.accessToken) }

    const order = await ref.orders.place({ idempotencyKey: 'first-order-1', items: tea(2) }, as)
    expect(order).toMatchObject({ userId: tokens.userId, totalCents: 2 * 1290, status: 'placed' })
    expect((await ref.catalog.get({ id: 'tea-sencha' })).stock).toBe(98)
    const inbox = await eventually(async () => {
      const { items } = await ref.notifications.list({}, as)
      return items.length === 2 ? items : undefined
    })
    expect(inbox.map((n) => n.kind).sort()).toEqual(['order-placed', 'welcome'])
    expect(inbox.find((n) => n.kind === 'order-placed')?.message).toContain(order.id)
  })

  it('creates one order and reserves stock once however often place is retried', async () => {
    await using ref = await startReference(fresh)
    const { as } = await ref.signUp()
    const input = { idempotencyKey: 'retried-order-1', items: tea(3) }
    const answers = await Promise.all([1, 2, 3].map(() => ref.orders.place(input, as)))
    answers.push(await ref.orders.place(input, as))
    expect(new Set(answers.map((o) => o.id)).size).toBe(1)
    expect((await ref.orders.list({}, as)).items).toHaveLength(1)
    expect((await ref.catalog.get({ id: 'tea-sencha' })).stock).toBe(97)
    await eventually(async () =>
      (await ref.notifications.list({}, as)).items.length === 2 ? true : undefined,
    )
    await new Promise((r) => setTimeout(r, 100))
    expect((await ref.notifications.list({}, as)).items).toHaveLength(2)
  })

  it('answers a wrong password with UNAUTHORIZED, and reports a logged-out token revoked', async () => {
    await using ref = await startReference(fresh)
    const { tokens, as } = await ref.signUp()
    const wrong = await rejectionOf(ref.auth.login({ email: ada.email, password: 'not the password' }))
    expect(wrong.code).toBe('UNAUTHORIZED')
    const jti = as.principal.claims!.jti as string
    await ref.auth.logout({ refreshToken: tokens.refreshToken }, as)
    expect(await ref.auth.isRevoked({ jti })).toEqual({ revoked: true })
    expect((await rejectionOf(ref.auth.refresh({ refreshToken: tokens.refreshToken }))).code).toBe(
      'UNAUTHORIZED',
    )
  })

  it('backs off logins per account in the database: of 12 wrong at once 5 are checked, then even the right one waits', async () => {
    const dbs = await fresh()
    const clock = { now: Date.now() }
    const system = await startTestSystem({
      services: [
        createAuthService({
          database: dbs.configFor('auth'),
          privateKey: TEST_KEYS.privateKey,
          now: () => clock.now,
        }),
        createUsersService({ database: dbs.configFor('users') }),
      ],
    })
    try {
      const auth = system.client<AuthService>('auth')
      await auth.register({ ...ada, email: 'Ada@Example.com' })
      const wrong = { email: 'ADA@example.com', password: 'not the password' }
      const codes = await Promise.all(
        Array.from({ length: 12 }, async () => (await rejectionOf(auth.login(wrong))).code),
      )
      expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(5)
      expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(7)
      const locked = await rejectionOf(auth.login({ email: ada.email, password: ada.password }))
      expect(locked).toMatchObject({ code: 'RATE_LIMITED', data: { retryAfterSec: 1 } })
      clock.now += 1_000
      expect((await auth.login({ email: ada.email, password: ada.password })).userId).toBeDefined()
    } finally {
      await system.stop()
      await dbs.dispose()
    }
  })

  it('keeps taking orders while notifications is down', async () => {
    await using ref = await startReference(fresh)
    const { as } = await ref.signUp()
    ref.system.crash('notifications')
    const order = await ref.orders.place({ idempotencyKey: 'while-down-1', items: tea(1) }, as)
    expect(order.status).toBe('placed')
    expect((await ref.orders.get({ id: order.id }, as)).totalCents).toBe(1290)
  })

  it('writes nothing for an invalid or refused order', async () => {
    await using ref = await startReference(fresh)
    const { as } = await ref.signUp()
    const invalid = await rejectionOf(
      ref.orders.place(
        { idempotencyKey: 'bad-order-1', items: [{ productId: 'tea-sencha', quantity: -1 }] },
        as,
      ),
    )
    expect(invalid).toMatchObject({ code: 'VALIDATION', data: { errors: [{ path: '/items/0/quantity' }] } })
    const soldOut = await rejectionOf(
      ref.orders.place(
        {
          idempotencyKey: 'bad-order-2',
          items: [
            { productId: 'tea-sencha', quantity: 1 },
            { productId: 'teapot-cast-iron', quantity: 1 },
          ],
        },
        as,
      ),
    )
    expect(soldOut).toMatchObject({ code: 'CONFLICT', data: { productId: 'teapot-cast-iron' } })
    expect((await ref.orders.list({}, as)).items).toEqual([])
    expect((await ref.catalog.get({ id: 'tea-sencha' })).stock).toBe(100)
  })
}
