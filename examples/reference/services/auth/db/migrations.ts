import type { Kysely, Migration } from 'kysely'
import { normalizeStoredEmails } from '../../../lib/email-migration.ts'
import { outboxMigration } from '../../../lib/outbox.ts'

/** In-code migrations, applied in name order on start; never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  '0001-credentials': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('credentials')
        .addColumn('user_id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
    },
  },
  '0002-tokens': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('refresh_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('family_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('refresh_tokens_family').on('refresh_tokens').column('family_id').execute()
      await db.schema
        .createTable('revoked_access_tokens')
        .addColumn('jti', 'text', (c) => c.primaryKey())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute()
    },
  },
  '0003-login-failures': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('login_failures')
        .addColumn('account_key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('locked_until', 'bigint', (c) => c.notNull())
        .addColumn('last_attempt_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('login_failures_last_attempt')
        .on('login_failures')
        .column('last_attempt_at')
        .execute()
    },
  },
  '0004-role-changes': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('role_changes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('change', 'text', (c) => c.notNull())
        .addColumn('changed_by', 'text', (c) => c.notNull())
        .addColumn('changed_at', 'text', (c) => c.notNull())
        .execute()
    },
  },
  '0005-normalized-emails': {
    async up(db: Kysely<any>) {
      await normalizeStoredEmails(db, 'credentials', 'user_id')
    },
  },
  // The transactional outbox of user.registered (used when the event is durable).
  '0100-outbox': outboxMigration,
}
