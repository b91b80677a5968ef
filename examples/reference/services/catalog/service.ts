import { Type as T } from '@sinclair/typebox'
import { defineService } from 'tessera/contract'
import { TesseraError } from 'tessera/errors'
import { type DatabaseConfig, databaseConfigFromEnv } from '../../lib/database-config.ts'
import { DEFAULT_LIMIT, Id, Items, Limit, Offset } from '../../lib/schemas.ts'
import { databaseSlot } from '../../lib/service-database.ts'
import { migrations } from './db/migrations.ts'
import type { CatalogDb } from './db/schema.ts'
import { type ReservationItem, release, reserve } from './reservations.ts'

export const Product = T.Object({
  id: Id,
  name: T.String({ maxLength: 200 }),
  priceCents: T.Integer({ minimum: 0 }),
  stock: T.Integer({ minimum: 0 }),
})

export const ReservationKey = T.String({ minLength: 8, maxLength: 200, pattern: '^[A-Za-z0-9_.:-]+$' })
const ReservedLine = T.Object({
  productId: Id,
  name: T.String(),
  quantity: T.Integer({ minimum: 1 }),
  priceCents: T.Integer({ minimum: 0 }),
})

export interface CatalogOptions {
  database?: DatabaseConfig
}

/**
 * Products and their stock. `reserve` and `release` have no route: orders calls them.
 * A fresh database is seeded with a few products (see db/migrations.ts).
 *
 * @example
 * const catalog = createCatalogService({ database: { kind: 'sqlite', file: ':memory:' } })
 */
export function createCatalogService(options: CatalogOptions = {}) {
  const store = databaseSlot<CatalogDb>(
    'catalog',
    migrations,
    () => options.database ?? databaseConfigFromEnv('catalog'),
  )

  return defineService({
    name: 'catalog',
    version: '1.0.0',
    // Long enough to ride out a NATS failover: every server down 2 s, the clients back
    // ~0.5 s later (test/integration/hosts/reference.test.ts; a call is held meanwhile).
    policy: { timeout: 5_000 },
    actions: ({ action }) => ({
      list: action({
        description: 'Products by id, a page at a time.',
        input: T.Object(
          { limit: T.Optional(Limit), offset: T.Optional(Offset) },
          { additionalProperties: false },
        ),
        output: T.Object({ items: T.Array(Product), total: T.Integer({ minimum: 0 }) }),
        idempotent: true,
        http: { method: 'GET', path: '/products', auth: 'public' },
        handler: async ({ limit = DEFAULT_LIMIT, offset = 0 }, ctx) => {
          const db = store.at(ctx)
          const rows = await db
            .selectFrom('products')
            .selectAll()
            .orderBy('id')
            .limit(limit)
            .offset(offset)
            .execute()
          const { count } = await db
            .selectFrom('products')
            .select((eb) => eb.fn.countAll().as('count'))
            .executeTakeFirstOrThrow()
          // PostgreSQL returns count(*) as a bigint string; SQLite as a number.
          return { items: rows.map(toProduct), total: Number(count) }
        },
      }),
      get: action({
        input: T.Object({ id: Id }, { additionalProperties: false }),
        output: Product,
        idempotent: true,
        http: { method: 'GET', path: '/products/:id', auth: 'public' },
        handler: async ({ id }, ctx) => {
          const row = await store
            .at(ctx)
            .selectFrom('products')
            .selectAll()
            .where('id', '=', id)
            .executeTakeFirst()
          if (!row) throw new TesseraError('NOT_FOUND', `product ${id} not found`, { id })
          return toProduct(row)
        },
      }),
      reserve: action({
        description: 'Takes stock for all items or none; the same key never reserves twice.',
        input: T.Object({ key: ReservationKey, items: Items }, { additionalProperties: false }),
        output: T.Object({
          key: ReservationKey,
          lines: T.Array(ReservedLine),
          totalCents: T.Integer({ minimum: 0 }),
        }),
        // Idempotent by its key, so the broker may retry it on another instance.
        idempotent: true,
        // Stock is taken for orders only: no other service (nor the gateway) may reserve.
        callers: ['orders'],
        handler: async ({ key, items }, ctx) => {
          assertDistinct(items)
          const lines = await reserve(store.at(ctx), key, items, new Date())
          return { key, lines, totalCents: lines.reduce((sum, l) => sum + l.priceCents * l.quantity, 0) }
        },
      }),
      release: action({
        description: 'Puts a reservation back into stock; repeating it is a no-op.',
        input: T.Object({ key: ReservationKey }, { additionalProperties: false }),
        output: T.Object({ released: T.Boolean() }),
        idempotent: true,
        callers: ['orders'],
        handler: async ({ key }, ctx) => ({ released: await release(store.at(ctx), key, new Date()) }),
      }),
    }),
    started: () => store.open(),
    stopped: () => store.close(),
  })
}

function toProduct(row: CatalogDb['products']) {
  return { id: row.id, name: row.name, priceCents: row.price_cents, stock: row.stock }
}

/** One line per product: a repeated product would be ambiguous to retry and to release. */
function assertDistinct(items: ReservationItem[]): void {
  const seen = new Set<string>()
  for (const [i, item] of items.entries()) {
    if (seen.has(item.productId)) {
      throw new TesseraError('VALIDATION', `invalid input/items/${i}/productId: product listed twice`, {
        where: 'input',
        errors: [{ path: `/items/${i}/productId`, message: 'product listed twice' }],
      })
    }
    seen.add(item.productId)
  }
}

const catalog = createCatalogService()
export default catalog
export type CatalogService = typeof catalog
