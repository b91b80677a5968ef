import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { TesseraError } from 'tessera/errors'
import type { AuthDb } from './db/schema.ts'

/** A pending registration older than this may be taken over by a new one for the same email. */
const PENDING_TAKEOVER_MS = 60_000

/**
 * Claims `email` for a new account in `pending` state and returns its user id. An
 * `active` account with that email is a CONFLICT. A `pending` one is a registration that
 * never finished (auth died, or users was down): after a minute a new registration takes
 * it over, keeping its user id so the retried `users.create` is the same idempotent call;
 * before that, CONFLICT (someone is registering right now). A registration that failed
 * cleanly frees its claim at once (`releaseClaim`).
 */
export async function claimEmail(
  db: Kysely<AuthDb>,
  email: string,
  passwordHash: string,
  roles: string[],
  now: number,
): Promise<string> {
  return db.transaction().execute(async (trx) => {
    const fresh = randomUUID()
    const createdAt = new Date(now).toISOString()
    // Insert first (takes SQLite's write lock at once); the unique email decides who wins.
    await trx
      .insertInto('credentials')
      .values({
        user_id: fresh,
        email,
        password_hash: passwordHash,
        roles: JSON.stringify(roles),
        status: 'pending',
        created_at: createdAt,
      })
      .onConflict((oc) => oc.doNothing())
      .execute()
    const row = await trx
      .selectFrom('credentials')
      .select(['user_id', 'status', 'created_at'])
      .where('email', '=', email)
      .executeTakeFirstOrThrow()
    if (row.user_id === fresh) return fresh
    if (row.status === 'active' || now - Date.parse(row.created_at) < PENDING_TAKEOVER_MS) {
      throw new TesseraError('CONFLICT', 'this email is already registered', { field: 'email' })
    }
    await trx
      .updateTable('credentials')
      .set({ password_hash: passwordHash, roles: JSON.stringify(roles), created_at: createdAt })
      .where('user_id', '=', row.user_id)
      .execute()
    return row.user_id
  })
}

/** Makes a pending claim free to take over now (its registration failed), keeping its user id. */
export async function releaseClaim(db: Kysely<AuthDb>, userId: string): Promise<void> {
  await db
    .updateTable('credentials')
    .set({ created_at: new Date(0).toISOString() })
    .where('user_id', '=', userId)
    .where('status', '=', 'pending')
    .execute()
}

export async function activate(db: Kysely<AuthDb>, userId: string): Promise<void> {
  await db.updateTable('credentials').set({ status: 'active' }).where('user_id', '=', userId).execute()
}

export function findActiveByEmail(db: Kysely<AuthDb>, email: string) {
  return db
    .selectFrom('credentials')
    .select(['user_id', 'password_hash', 'roles'])
    .where('email', '=', email)
    .where('status', '=', 'active')
    .executeTakeFirst()
}
