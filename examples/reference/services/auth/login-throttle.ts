import { createHash } from 'node:crypto'
import type { Kysely } from 'kysely'
import { TesseraError } from 'tessera/errors'
import type { AuthDb } from './db/schema.ts'

/** How failed logins for one account slow the next ones down. */
export interface LoginThrottle {
  /** Failures without any wait. Default 5. */
  freeFailures: number
  /** The wait after the last free failure; it doubles with each further one. Default 1 s. */
  baseDelayMs: number
  /** The longest wait: a lock never lasts longer, so an attacker cannot lock an account for good. Default 15 min. */
  maxDelayMs: number
  /** Failures older than this (since the last attempt) are forgotten. Default 24 h. */
  forgetAfterMs: number
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottle = {
  freeFailures: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 15 * 60_000,
  forgetAfterMs: 24 * 3600_000,
}

/** The row key of an account: a hash, so addresses nobody registered are not kept in clear. */
export function accountKey(normalizedEmail: string): string {
  return createHash('sha256').update(normalizedEmail).digest('base64url')
}

/**
 * Takes one login attempt for an account, before its password is checked: RATE_LIMITED
 * (`data.retryAfterSec`) while the account is locked, and then nothing is counted and no
 * password is hashed; otherwise the attempt is counted as a failure *now*, and the lock
 * the failure would earn is set at once — `clearLoginFailures` undoes both when the
 * password turns out right. Counting up front is what makes concurrent attempts count one
 * by one: of 40 sent at once, only `freeFailures` are checked.
 *
 * The state lives in auth's database, so it holds across restarts and across instances
 * of auth. The first statement writes (SQLite's write lock; PostgreSQL's row lock on the
 * upsert), so two attempts for one account never read the same count.
 */
export async function takeLoginAttempt(
  db: Kysely<AuthDb>,
  key: string,
  now: number,
  throttle: LoginThrottle,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('login_failures')
      .values({ account_key: key, failures: 0, locked_until: 0, last_attempt_at: now })
      .onConflict((oc) =>
        oc.column('account_key').doUpdateSet((eb) => ({ failures: eb.ref('login_failures.failures') })),
      )
      .execute()
    const row = await trx
      .selectFrom('login_failures')
      .select(['failures', 'locked_until', 'last_attempt_at'])
      .where('account_key', '=', key)
      .executeTakeFirstOrThrow()
    const lockedUntil = Number(row.locked_until)
    if (lockedUntil > now) {
      // Thrown inside the transaction: it rolls back, so a refused attempt changes nothing.
      const retryAfterSec = Math.max(1, Math.ceil((lockedUntil - now) / 1000))
      throw new TesseraError('RATE_LIMITED', 'too many failed logins for this account; try again later', {
        retryAfterSec,
      })
    }
    const forgotten = now - Number(row.last_attempt_at) > throttle.forgetAfterMs
    const failures = (forgotten ? 0 : Number(row.failures)) + 1
    const over = failures - throttle.freeFailures
    const lock = over >= 0 ? now + Math.min(throttle.baseDelayMs * 2 ** over, throttle.maxDelayMs) : 0
    await trx
      .updateTable('login_failures')
      .set({ failures, locked_until: lock, last_attempt_at: now })
      .where('account_key', '=', key)
      .execute()
    // Rows of accounts nobody tried for a while go, so guessed addresses do not pile up.
    await trx
      .deleteFrom('login_failures')
      .where('last_attempt_at', '<', now - throttle.forgetAfterMs)
      .where('locked_until', '<=', now)
      .execute()
  })
}

/** A successful login: the account's failures and lock are forgotten. */
export async function clearLoginFailures(db: Kysely<AuthDb>, key: string): Promise<void> {
  await db.deleteFrom('login_failures').where('account_key', '=', key).execute()
}
