import { randomUUID } from 'node:crypto'
import { Type as T } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import { TesseraError } from 'tessera/errors'
import type { AuthDb } from './db/schema.ts'
import { parseRoles } from './sessions.ts'

/** Roles an admin may grant; every account has `user` from its registration. */
export const GrantableRole = T.Union([T.Literal('admin')])

/** Who changed a role: an admin's user id, or the bootstrap script. */
export type RoleChanger = { userId: string } | 'bootstrap'

/**
 * Grants (`grant: true`) or revokes a role of an active account and records who did it
 * in `role_changes`; returns the account's roles afterwards. Granting a role it has, or
 * revoking one it lacks, changes nothing and records nothing. NOT_FOUND for an unknown
 * (or unfinished) account. Takes effect with the account's next token (login or
 * refresh): an access token already issued keeps its roles until it expires (15 min).
 */
export async function changeRole(
  db: Kysely<AuthDb>,
  userId: string,
  role: string,
  grant: boolean,
  by: RoleChanger,
  now: number,
): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    // Write first (a no-op update): takes SQLite's write lock, so two changes never interleave.
    const touched = await trx
      .updateTable('credentials')
      .set((eb) => ({ roles: eb.ref('roles') }))
      .where('user_id', '=', userId)
      .where('status', '=', 'active')
      .executeTakeFirst()
    if (Number(touched.numUpdatedRows) === 0)
      throw new TesseraError('NOT_FOUND', `user ${userId} not found`, { userId })
    const row = await trx
      .selectFrom('credentials')
      .select('roles')
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow()
    const roles = parseRoles(row.roles)
    const has = roles.includes(role)
    if (has === grant) return roles
    const next = grant ? [...roles, role] : roles.filter((r) => r !== role)
    await trx
      .updateTable('credentials')
      .set({ roles: JSON.stringify(next) })
      .where('user_id', '=', userId)
      .execute()
    await trx
      .insertInto('role_changes')
      .values({
        id: randomUUID(),
        user_id: userId,
        role,
        change: grant ? 'grant' : 'revoke',
        changed_by: by === 'bootstrap' ? 'bootstrap' : by.userId,
        changed_at: new Date(now).toISOString(),
      })
      .execute()
    return next
  })
}
