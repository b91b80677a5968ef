import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import SQLite from 'better-sqlite3'
import { expect, it } from 'vitest'
import type { AuthService } from '../../../examples/reference/services/auth/service.ts'
import type { NotificationsService } from '../../../examples/reference/services/notifications/service.ts'
import type { OrdersService } from '../../../examples/reference/services/orders/service.ts'
import { eventually, principalOf, tempSqlite } from '../../../examples/reference/test/helpers.ts'
import { referenceUnderRuntime } from '../../../examples/reference/test/under-runtime.ts'
import { createSupervisor } from '../../../src/runtime/index.ts'

// The reference system as `npm start` runs it: the socket transport, the supervisor
// serving the event store from its state dir, order.placed and user.registered durable.
it('under the runtime on the socket transport, orders placed while notifications is scaled to 0 all get their receipt once it is back, also across a restart of the supervisor', {
  timeout: 120_000,
}, async () => {
  using temp = tempSqlite()
  const options = referenceUnderRuntime(temp.dir)
  await using supervisor = createSupervisor(options)
  expect((await supervisor.up()).failed).toEqual([])
  expect(readdirSync(join(supervisor.stateDir, 'events'))).toContain('0000000001.log')

  const client = supervisor.caller.client.bind(supervisor.caller)
  await supervisor.scale('notifications', 0)
  const tokens = await client<AuthService>('auth').register({
    email: 'grace@example.com',
    password: 'correct horse battery',
    name: 'Grace',
  })
  const as = { principal: await principalOf(tokens.accessToken) }
  const ids: string[] = []
  for (let i = 0; i < 10; i++) {
    const order = await client<OrdersService>('orders').place(
      { idempotencyKey: `runtime-down-${i}`, items: [{ productId: 'tea-sencha', quantity: 1 }] },
      as,
    )
    ids.push(order.id)
  }
  await supervisor.scale('notifications', 1)
  // The welcome and the ten receipts, each once (notifications' `source` column is unique).
  const items = await eventually(async () => {
    const { items } = await client<NotificationsService>('notifications').list({ limit: 100 }, as)
    return items.length >= 11 ? items : undefined
  }, 30_000)
  await new Promise((r) => setTimeout(r, 1500))
  const { items: after } = await client<NotificationsService>('notifications').list({ limit: 100 }, as)
  expect(after).toHaveLength(11)
  expect(items.filter((n) => n.kind === 'welcome')).toHaveLength(1)
  expect(after.filter((n) => n.kind === 'order-placed')).toHaveLength(10)

  // The same with the supervisor (and so the store) stopped in between: the events were in
  // the store's log (the outbox had sent them), and the next supervisor on the same state dir
  // delivers them.
  await supervisor.scale('notifications', 0)
  for (let i = 0; i < 5; i++) {
    await client<OrdersService>('orders').place(
      { idempotencyKey: `runtime-restart-${i}`, items: [{ productId: 'tea-sencha', quantity: 1 }] },
      as,
    )
  }
  await eventually(() => (unsent(join(temp.dir, 'data', 'orders.sqlite')) === 0 ? true : undefined), 10_000)
  await supervisor.down()
  await using next = createSupervisor(options) // the same state dir: the same log
  expect((await next.up()).failed).toEqual([])
  const again = next.caller.client.bind(next.caller)
  const asAgain = { principal: await principalOf(tokens.accessToken) } // a proof is made per caller
  await eventually(async () => {
    const { items } = await again<NotificationsService>('notifications').list({ limit: 100 }, asAgain)
    return items.length >= 16 ? items : undefined
  }, 30_000)
  await new Promise((r) => setTimeout(r, 1500))
  const { items: last } = await again<NotificationsService>('notifications').list({ limit: 100 }, asAgain)
  expect(last.filter((n) => n.kind === 'order-placed')).toHaveLength(15)
  expect(last).toHaveLength(16)
})

/** Outbox rows of orders not yet published. */
function unsent(file: string): number {
  const db = new SQLite(file, { readonly: true, fileMustExist: true })
  try {
    return (db.prepare('SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL').get() as { n: number }).n
  } finally {
    db.close()
  }
}
