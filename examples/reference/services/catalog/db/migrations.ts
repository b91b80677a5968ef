import { type Kysely, type Migration, sql } from 'kysely'

/** Products every fresh catalog starts with (seeded once, by migration 0002). */
export const SEED_PRODUCTS = [
  { id: 'tea-sencha', name: 'Sencha green tea, 100 g', price_cents: 1290, stock: 100 },
  { id: 'mug-stoneware', name: 'Stoneware mug', price_cents: 1850, stock: 25 },
  { id: 'kettle-gooseneck', name: 'Gooseneck kettle', price_cents: 5900, stock: 5 },
  { id: 'teapot-cast-iron', name: 'Cast iron teapot', price_cents: 7400, stock: 0 },
] as const

/** In-code migrations, applied in name order on start; never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  '0001-products': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('products')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('price_cents', 'integer', (c) => c.notNull().check(sqlNonNegative('price_cents')))
        .addColumn('stock', 'integer', (c) => c.notNull().check(sqlNonNegative('stock')))
        .execute()
      await db.schema
        .createTable('reservations')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('released_at', 'text')
        .execute()
      await db.schema
        .createTable('reservation_lines')
        .addColumn('reservation_key', 'text', (c) => c.notNull().references('reservations.key'))
        .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('quantity', 'integer', (c) => c.notNull())
        .addColumn('price_cents', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('reservation_lines_pk', ['reservation_key', 'product_id'])
        .execute()
    },
  },
  // Seeding as a migration runs it exactly once per database, even with several instances starting.
  '0002-seed-products': {
    async up(db: Kysely<any>) {
      await db
        .insertInto('products')
        .values([...SEED_PRODUCTS])
        .execute()
    },
  },
}

/** A CHECK constraint: the database itself refuses negative stock, whatever the code does. */
function sqlNonNegative(column: string) {
  return sql`${sql.ref(column)} >= 0`
}
