import { defineService, subscribe } from 'tessera/contract'
import { startTestSystem } from 'tessera/testkit'
import { describe, expect, it } from 'vitest'
import { eventually, rejectionOf, type TempSqlite, tempSqlite } from '../../test/helpers.ts'
import { OrderPlaced } from '../orders/service.ts'
import { createNotificationsService, type NotificationsService } from './service.ts'

/** Stands in for orders: emits `order.placed` on demand (subscriptions match by event name). */
const fakeOrders = defineService({
  name: 'orders',
  events: { 'order.placed': OrderPlaced },
  actions: ({ action }) => ({
    announce: action({
      input: OrderPlaced,
      output: OrderPlaced,
      handler: async (order, ctx) => {
        await ctx.emit('order.placed', order)
        return order
      },
    }),
  }),
})

function harness(temp: TempSqlite) {
  const created: { userId: string; kind: string }[] = []
  const browser = defineService({
    name: 'browser',
    actions: () => ({}),
    on: subscribe<NotificationsService>({ 'notification.created': (n) => void created.push(n) }),
  })
  const notifications = createNotificationsService({ database: temp.configFor('notifications') })
  return { created, services: [notifications, fakeOrders, browser] }
}

const order = {
  orderId: 'o-1',
  userId: 'u-ada',
  totalCents: 2580,
  itemCount: 2,
  placedAt: new Date().toISOString(),
}
const ada = { principal: { id: 'u-ada' } }

describe('notifications', () => {
  it('stores one notification per placed order, even when the event comes twice, and announces it', async () => {
    using temp = tempSqlite()
    const h = harness(temp)
    await using system = await startTestSystem({ services: h.services })
    const orders = system.client<typeof fakeOrders>('orders')
    await orders.announce(order)
    await orders.announce(order)
    const notifications = system.client<NotificationsService>('notifications')
    const [first] = await eventually(async () => {
      const { items } = await notifications.list({}, ada)
      return items.length > 0 ? items : undefined
    })
    expect(first!.message).toContain('$25.80')
    await new Promise((r) => setTimeout(r, 100))
    expect((await notifications.list({}, ada)).items).toHaveLength(1)
    expect(h.created).toEqual([expect.objectContaining({ userId: 'u-ada', kind: 'order-placed' })])
  })

  it("lists only the caller's notifications, and needs a principal", async () => {
    using temp = tempSqlite()
    await using system = await startTestSystem({ services: harness(temp).services })
    await system.client<typeof fakeOrders>('orders').announce(order)
    const notifications = system.client<NotificationsService>('notifications')
    await eventually(async () => ((await notifications.list({}, ada)).items.length ? true : undefined))
    expect((await notifications.list({}, { principal: { id: 'u-grace' } })).items).toEqual([])
    expect((await rejectionOf(notifications.list({}))).code).toBe('UNAUTHORIZED')
  })
})
