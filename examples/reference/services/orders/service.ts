import { randomUUID } from 'node:crypto'
import { type Static, Type as T } from '@sinclair/typebox'
import type { Context } from 'tessera/contract'
import { defineService, durable } from 'tessera/contract'
import { TesseraError } from 'tessera/errors'
import { type DatabaseConfig, databaseConfigFromEnv } from '../../lib/database-config.ts'
import { durableByDefault } from '../../lib/durable-default.ts'
import { type OutboxRelay, startOutboxRelay, writeOutbox } from '../../lib/outbox.ts'
import { hasRole, requirePrincipal } from '../../lib/principal.ts'
import { DEFAULT_LIMIT, Id, IdempotencyKey, Items, Limit, Offset, Timestamp } from '../../lib/schemas.ts'
import { databaseSlot } from '../../lib/service-database.ts'
import type { CatalogService } from '../catalog/service.ts'
import type { UsersService } from '../users/service.ts'
import { migrations } from './db/migrations.ts'
import type { OrdersDb } from './db/schema.ts'
import { Order, requestHash, toOrder } from './order-row.ts'

export const OrderPlaced = T.Object({
  orderId: Id,
  userId: Id,
  totalCents: T.Integer({ minimum: 0 }),
  itemCount: T.Integer({ minimum: 1 }),
  placedAt: Timestamp,
})
const events = { 'order.placed': OrderPlaced }

export interface OrdersOptions {
  database?: DatabaseConfig
  /**
   * `order.placed` durable, written to the outbox in the order's own transaction and
   * relayed from there (docs/events.md). Default: under the runtime (socket or NATS) or
   * on NATS (`durableByDefault`, lib/durable-default.ts).
   */
  durableEvents?: boolean
  /**
   * Run the outbox relay in this instance (durable events only). Default true; false
   * leaves committed events in the outbox for another instance (or the next start) to send.
   */
  relay?: boolean
}

/**
 * Orders of the authenticated user. `place` checks the user (users.get), reserves stock
 * (catalog.reserve, keyed by the order's idempotency key), stores the order and emits
 * `order.placed`. The same `idempotencyKey` always yields the same order, once.
 *
 * @example
 * await client.place({ idempotencyKey: crypto.randomUUID(), items: [{ productId: 'tea-sencha', quantity: 2 }] }, { principal })
 */
export function createOrdersService(options: OrdersOptions = {}) {
  const durableEvents = options.durableEvents ?? durableByDefault()
  let relay: OutboxRelay | undefined
  const store = databaseSlot<OrdersDb>(
    'orders',
    migrations,
    () => options.database ?? databaseConfigFromEnv('orders'),
  )

  const findByKey = (userId: string, key: string, ctx: Context) =>
    store
      .at(ctx)
      .selectFrom('orders')
      .selectAll()
      .where('user_id', '=', userId)
      .where('idempotency_key', '=', key)
      .executeTakeFirst()

  const placedEvent = (row: OrdersDb['orders']) => ({
    orderId: row.id,
    userId: row.user_id,
    totalCents: row.total_cents,
    itemCount: toOrder(row).lines.reduce((n, l) => n + l.quantity, 0),
    placedAt: row.created_at,
  })

  /** Emits `order.placed` for a stored order that has not gone out yet, then marks it. */
  const announce = async (row: OrdersDb['orders'], ctx: Context<typeof events>) => {
    if (row.announced) return
    await ctx.emit('order.placed', placedEvent(row))
    await store.at(ctx).updateTable('orders').set({ announced: 1 }).where('id', '=', row.id).execute()
  }

  /** The answer to a repeated `place`: the stored order, announced if that had not happened. */
  const replay = async (row: OrdersDb['orders'], hash: string, ctx: Context<typeof events>) => {
    if (row.request_hash !== hash) {
      throw new TesseraError('CONFLICT', 'this idempotencyKey was used for an order with other items', {
        field: 'idempotencyKey',
      })
    }
    await announce(row, ctx)
    return toOrder(row)
  }

  return defineService({
    name: 'orders',
    version: '1.0.0',
    events: durableEvents ? { 'order.placed': durable(OrderPlaced) } : events,
    policy: { timeout: 5_000 },
    actions: ({ action }) => ({
      place: action({
        description: 'Places an order; retrying with the same idempotencyKey returns the same order.',
        input: T.Object({ idempotencyKey: IdempotencyKey, items: Items }, { additionalProperties: false }),
        output: Order,
        // Safe to retry thanks to the key: the broker may send a retry to another instance.
        idempotent: true,
        http: { method: 'POST', path: '/orders', auth: 'authenticated' },
        handler: async ({ idempotencyKey, items }, ctx) => {
          const { id: userId } = requirePrincipal(ctx)
          const hash = requestHash(items)
          const seen = await findByKey(userId, idempotencyKey, ctx)
          if (seen) return replay(seen, hash, ctx)

          await ctx.client<UsersService>('users').get({ id: userId })
          // The reservation key is derived from the order's key, so a retry after a crash
          // anywhere below finds its reservation instead of taking the stock twice.
          const reservationKey = `order:${userId}:${idempotencyKey}`
          const reserved = await ctx.client<CatalogService>('catalog').reserve({ key: reservationKey, items })
          const row: OrdersDb['orders'] = {
            id: randomUUID(),
            user_id: userId,
            idempotency_key: idempotencyKey,
            request_hash: hash,
            lines: JSON.stringify(reserved.lines),
            total_cents: reserved.totalCents,
            status: 'placed',
            created_at: new Date().toISOString(),
            announced: 0,
          }
          try {
            // Durable: the event goes into the outbox in the order's transaction (announced
            // from the start), so a crash after the commit cannot lose it; the relay sends it.
            if (durableEvents) row.announced = 1
            const inserted = await store
              .at(ctx)
              .transaction()
              .execute(async (trx) => {
                const result = await trx
                  .insertInto('orders')
                  .values(row)
                  .onConflict((oc) => oc.doNothing())
                  .executeTakeFirst()
                if (durableEvents && Number(result.numInsertedOrUpdatedRows ?? 0) > 0) {
                  await writeOutbox(trx, 'order.placed', placedEvent(row), `order.placed:${row.id}`)
                }
                return result
              })
            // Lost a race with a concurrent twin of this call: its order stands, with the same reservation.
            if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
              return replay((await findByKey(userId, idempotencyKey, ctx))!, hash, ctx)
            }
          } catch (err) {
            await ctx
              .client<CatalogService>('catalog')
              .release({ key: reservationKey })
              .catch(() => undefined)
            throw err
          }
          if (durableEvents) relay?.kick()
          else await announce(row, ctx)
          return toOrder(row)
        },
      }),
      list: action({
        description: "The caller's orders, newest first.",
        input: T.Object(
          { limit: T.Optional(Limit), offset: T.Optional(Offset) },
          { additionalProperties: false },
        ),
        output: T.Object({ items: T.Array(Order) }),
        idempotent: true,
        http: { method: 'GET', path: '/orders', auth: 'authenticated' },
        handler: async ({ limit = DEFAULT_LIMIT, offset = 0 }, ctx) => {
          const { id } = requirePrincipal(ctx)
          const rows = await store
            .at(ctx)
            .selectFrom('orders')
            .selectAll()
            .where('user_id', '=', id)
            .orderBy('created_at', 'desc')
            .orderBy('id')
            .limit(limit)
            .offset(offset)
            .execute()
          return { items: rows.map(toOrder) }
        },
      }),
      get: action({
        description: "One of the caller's orders (any order for an admin). Others' orders are NOT_FOUND.",
        input: T.Object({ id: Id }, { additionalProperties: false }),
        output: Order,
        idempotent: true,
        http: { method: 'GET', path: '/orders/:id', auth: 'authenticated' },
        handler: async ({ id }, ctx) => {
          const principal = requirePrincipal(ctx)
          const row = await store
            .at(ctx)
            .selectFrom('orders')
            .selectAll()
            .where('id', '=', id)
            .executeTakeFirst()
          // NOT_FOUND rather than FORBIDDEN: order ids of others are not confirmed to exist.
          if (!row || (row.user_id !== principal.id && !hasRole(principal, 'admin'))) {
            throw new TesseraError('NOT_FOUND', `order ${id} not found`, { id })
          }
          return toOrder(row)
        },
      }),
    }),
    started: async (kit) => {
      await store.open()
      if (!durableEvents || options.relay === false) return
      relay = startOutboxRelay({
        db: () => store.db,
        publish: (_event, payload, id) =>
          kit.emit('order.placed', payload as Static<typeof OrderPlaced>, { eventId: id }),
        intervalMs: 500,
      })
    },
    stopped: async () => {
      await relay?.stop()
      relay = undefined
      await store.close()
    },
  })
}

const orders = createOrdersService()
export default orders
export type OrdersService = typeof orders
