import type { Kysely, Migration } from 'kysely'
import { outboxMigration } from '../../../lib/outbox.ts'

/** In-code migrations, applied in name order on start; never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  '0001-orders': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('orders')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('lines', 'text', (c) => c.notNull())
        .addColumn('total_cents', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('announced', 'integer', (c) => c.notNull().defaultTo(0))
        .addUniqueConstraint('orders_user_key', ['user_id', 'idempotency_key'])
        .execute()
      await db.schema
        .createIndex('orders_user_created')
        .on('orders')
        .columns(['user_id', 'created_at'])
        .execute()
    },
  },
  // The transactional outbox of order.placed (used when the event is durable).
  '0002-outbox': outboxMigration,
}
