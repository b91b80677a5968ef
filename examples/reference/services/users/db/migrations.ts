import type { Kysely, Migration } from 'kysely'
import { normalizeStoredEmails } from '../../../lib/email-migration.ts'

/** In-code migrations, applied in name order on start; never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  '0001-users': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
    },
  },
  '0002-normalized-emails': {
    async up(db: Kysely<any>) {
      await normalizeStoredEmails(db, 'users', 'id')
    },
  },
}
