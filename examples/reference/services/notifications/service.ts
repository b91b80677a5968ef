import { randomUUID } from 'node:crypto'
import { Type as T } from '@sinclair/typebox'
import type { Context } from 'tessera/contract'
import { defineService, subscribe } from 'tessera/contract'
import { type DatabaseConfig, databaseConfigFromEnv } from '../../lib/database-config.ts'
import { durableByDefault } from '../../lib/durable-default.ts'
import { requirePrincipal } from '../../lib/principal.ts'
import { DEFAULT_LIMIT, Id, Limit, Offset, Timestamp } from '../../lib/schemas.ts'
import { databaseSlot } from '../../lib/service-database.ts'
import type { AuthService } from '../auth/service.ts'
import type { OrdersService } from '../orders/service.ts'
import { migrations } from './db/migrations.ts'
import type { NotificationsDb } from './db/schema.ts'

export const Notification = T.Object({
  id: Id,
  /** `userId` lets the gateway's SSE stream deliver each one only to its user. */
  userId: Id,
  kind: T.Union([T.Literal('welcome'), T.Literal('order-placed')]),
  message: T.String({ maxLength: 500 }),
  createdAt: Timestamp,
})
const events = { 'notification.created': Notification }

type Row = NotificationsDb['notifications']

export interface NotificationsOptions {
  database?: DatabaseConfig
  /** Take `order.placed` and `user.registered` durably; default as orders and auth emit them (`durableByDefault`). */
  durableEvents?: boolean
}

/**
 * A per-user inbox fed by events: a welcome on `user.registered`, a receipt on
 * `order.placed` (balanced: one instance stores each). Every stored notification is
 * announced as `notification.created`, which the gateway streams to browsers.
 *
 * @example
 * const notifications = createNotificationsService({ database: { kind: 'sqlite', file: 'n.sqlite' } })
 */
export function createNotificationsService(options: NotificationsOptions = {}) {
  const durableEvents = options.durableEvents ?? durableByDefault()
  const store = databaseSlot<NotificationsDb>(
    'notifications',
    migrations,
    () => options.database ?? databaseConfigFromEnv('notifications'),
  )

  /** Stores one notification unless its source was seen, then announces it. */
  const deliver = async (ctx: Context, draft: Pick<Row, 'user_id' | 'kind' | 'message' | 'source'>) => {
    const row: Row = { ...draft, id: randomUUID(), created_at: new Date().toISOString() }
    const inserted = await store
      .at(ctx)
      .insertInto('notifications')
      .values(row)
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst()
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return
    // An event handler's ctx is typed for any event; this service declares the one it emits.
    await (ctx as Context<typeof events>).emit('notification.created', toNotification(row))
  }

  return defineService({
    name: 'notifications',
    version: '1.0.0',
    events,
    actions: ({ action }) => ({
      list: action({
        description: "The caller's notifications, newest first.",
        input: T.Object(
          { limit: T.Optional(Limit), offset: T.Optional(Offset) },
          { additionalProperties: false },
        ),
        output: T.Object({ items: T.Array(Notification) }),
        idempotent: true,
        http: { method: 'GET', path: '/notifications', auth: 'authenticated' },
        handler: async ({ limit = DEFAULT_LIMIT, offset = 0 }, ctx) => {
          const { id } = requirePrincipal(ctx)
          const rows = await store
            .at(ctx)
            .selectFrom('notifications')
            .selectAll()
            .where('user_id', '=', id)
            .orderBy('created_at', 'desc')
            .orderBy('id')
            .limit(limit)
            .offset(offset)
            .execute()
          return { items: rows.map(toNotification) }
        },
      }),
    }),
    on: {
      ...subscribe<OrdersService>({
        'order.placed': {
          // Durable when orders makes it so (on NATS): at least once, and `source` is
          // unique, so a redelivered order.placed stores no second notification.
          durable: durableEvents && { backoffMs: [500, 2000, 5000], maxDeliver: 10 },
          handler: (order, ctx) =>
            deliver(ctx, {
              user_id: order.userId,
              kind: 'order-placed',
              message: `Your order ${order.orderId} (${order.itemCount} items, ${formatCents(order.totalCents)}) was placed.`,
              source: `order.placed:${order.orderId}`,
            }),
        },
      }),
      ...subscribe<AuthService>({
        'user.registered': {
          durable: durableEvents && { backoffMs: [500, 2000, 5000], maxDeliver: 10 },
          handler: (user, ctx) =>
            deliver(ctx, {
              user_id: user.userId,
              kind: 'welcome',
              message: `Welcome, ${user.name}!`,
              source: `user.registered:${user.userId}`,
            }),
        },
      }),
    },
    started: () => store.open(),
    stopped: () => store.close(),
  })
}

function toNotification(row: Row) {
  return { id: row.id, userId: row.user_id, kind: row.kind, message: row.message, createdAt: row.created_at }
}

function formatCents(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`
}

const notifications = createNotificationsService()
export default notifications
export type NotificationsService = typeof notifications
