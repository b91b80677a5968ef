import { defineService, subscribe } from 'tessera/contract'
import { TesseraError } from 'tessera/errors'
import { fakeService, startTestSystem } from 'tessera/testkit'
import { describe, expect, it } from 'vitest'
import { rejectionOf, type TempSqlite, tempSqlite } from '../../test/helpers.ts'
import type { CatalogService } from '../catalog/service.ts'
import type { UsersService } from '../users/service.ts'
import { createOrdersService, type OrdersService } from './service.ts'

const ada = { principal: { id: 'u-ada', roles: ['user'] } }
const grace = { principal: { id: 'u-grace', roles: ['user'] } }
const items = [{ productId: 'tea-sencha', quantity: 2 }]

/** Orders with fake users and catalog; the catalog fake counts reservations by key. */
function harness(temp: TempSqlite) {
  const reservations: string[] = []
  const placed: string[] = []
  const users = fakeService<UsersService>('users', {
    get: ({ id }) => ({ id, email: `${id}@example.com`, name: id, createdAt: '2024-01-01T00:00:00.000Z' }),
  })
  const catalog = fakeService<CatalogService>(
    'catalog',
    {
      reserve: ({ key, items }) => {
        reservations.push(key)
        if (items.some((i) => i.quantity > 10)) throw new TesseraError('CONFLICT', 'not enough stock')
        const lines = items.map((i) => ({ ...i, name: i.productId, priceCents: 500 }))
        return { key, lines, totalCents: lines.reduce((s, l) => s + l.priceCents * l.quantity, 0) }
      },
      release: () => ({ released: true }),
    },
    { idempotent: ['reserve', 'release'] },
  )
  const listener = defineService({
    name: 'listener',
    actions: () => ({}),
    on: subscribe<OrdersService>({ 'order.placed': (o) => void placed.push(o.orderId) }),
  })
  const orders = createOrdersService({ database: temp.configFor('orders') })
  return { reservations, placed, services: [orders, users, catalog, listener] }
}

describe('orders', () => {
  it('places an order: reserves, totals, stores and announces it', async () => {
    using temp = tempSqlite()
    const h = harness(temp)
    await using system = await startTestSystem({ services: h.services })
    const orders = system.client<OrdersService>('orders')
    const order = await orders.place({ idempotencyKey: 'key-00000001', items }, ada)
    expect(order).toMatchObject({ userId: 'u-ada', totalCents: 1000, status: 'placed' })
    expect(await orders.get({ id: order.id }, ada)).toEqual(order)
    expect((await orders.list({}, ada)).items).toEqual([order])
    await expect.poll(() => h.placed).toEqual([order.id])
  })

  it('returns the same order for a retried place, reserving with the same key', async () => {
    using temp = tempSqlite()
    const h = harness(temp)
    await using system = await startTestSystem({ services: h.services })
    const orders = system.client<OrdersService>('orders')
    const input = { idempotencyKey: 'key-00000002', items }
    const [a, b] = await Promise.all([orders.place(input, ada), orders.place(input, ada)])
    const c = await orders.place(input, ada)
    expect(b.id).toBe(a.id)
    expect(c.id).toBe(a.id)
    expect((await orders.list({}, ada)).items).toHaveLength(1)
    expect(new Set(h.reservations)).toEqual(new Set(['order:u-ada:key-00000002']))
    const other = await rejectionOf(orders.place({ ...input, items: [{ productId: 'x', quantity: 1 }] }, ada))
    expect(other.code).toBe('CONFLICT')
  })

  it('stores nothing when the catalog refuses the reservation', async () => {
    using temp = tempSqlite()
    await using system = await startTestSystem({ services: harness(temp).services })
    const orders = system.client<OrdersService>('orders')
    const err = await rejectionOf(
      orders.place(
        { idempotencyKey: 'key-00000003', items: [{ productId: 'tea-sencha', quantity: 11 }] },
        ada,
      ),
    )
    expect(err.code).toBe('CONFLICT')
    expect((await orders.list({}, ada)).items).toEqual([])
  })

  it("hides other users' orders, and needs a principal", async () => {
    using temp = tempSqlite()
    await using system = await startTestSystem({ services: harness(temp).services })
    const orders = system.client<OrdersService>('orders')
    const order = await orders.place({ idempotencyKey: 'key-00000004', items }, ada)
    expect((await rejectionOf(orders.get({ id: order.id }, grace))).code).toBe('NOT_FOUND')
    expect((await orders.list({}, grace)).items).toEqual([])
    expect((await rejectionOf(orders.list({}))).code).toBe('UNAUTHORIZED')
  })

  it('rejects bad input as VALIDATION naming the field', async () => {
    using temp = tempSqlite()
    await using system = await startTestSystem({ services: harness(temp).services })
    const orders = system.client<OrdersService>('orders')
    const zero = await rejectionOf(
      orders.place(
        { idempotencyKey: 'key-00000005', items: [{ productId: 'tea-sencha', quantity: 0 }] },
        ada,
      ),
    )
    expect(zero).toMatchObject({ code: 'VALIDATION', data: { errors: [{ path: '/items/0/quantity' }] } })
    const none = await rejectionOf(orders.place({ idempotencyKey: 'key-00000005', items: [] }, ada))
    expect(none).toMatchObject({ code: 'VALIDATION', data: { errors: [{ path: '/items' }] } })
  })
})
