import { type KeyObject, randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { TesseraError } from 'tessera/errors'
import type { AuthDb } from './db/schema.ts'
import { hashRefreshToken, newRefreshToken, signAccessToken } from './tokens.ts'

export interface SessionSettings {
  /** The Ed25519 private key access tokens are signed with. */
  key: KeyObject
  accessTtlSec: number
  refreshTtlSec: number
  now: () => number
}

export interface TokenPair {
  userId: string
  accessToken: string
  refreshToken: string
  tokenType: 'Bearer'
  /** Seconds until the access token expires. */
  expiresIn: number
}

/**
 * Issues an access token and a refresh token; the refresh token starts a new family
 * unless `familyId` continues one (rotation). Only the refresh token's hash is stored.
 */
export async function issueTokens(
  db: Kysely<AuthDb>,
  settings: SessionSettings,
  userId: string,
  roles: string[],
  familyId: string = randomUUID(),
): Promise<TokenPair> {
  const now = settings.now()
  const refreshToken = newRefreshToken()
  await db
    .insertInto('refresh_tokens')
    .values({
      token_hash: hashRefreshToken(refreshToken),
      user_id: userId,
      family_id: familyId,
      expires_at: now + settings.refreshTtlSec * 1000,
      used_at: null,
      revoked_at: null,
      created_at: new Date(now).toISOString(),
    })
    .execute()
  const access = await signAccessToken(settings.key, userId, roles, now, settings.accessTtlSec)
  return {
    userId,
    accessToken: access.token,
    refreshToken,
    tokenType: 'Bearer',
    expiresIn: settings.accessTtlSec,
  }
}

type Spent = { ok: true; userId: string; familyId: string } | { ok: false; reused: string | undefined }

/**
 * Rotates a refresh token: spends it and issues a new pair in the same family. A token
 * that was already spent is a sign of theft (the thief or the user replays it), so its
 * whole family is revoked and both must log in again. UNAUTHORIZED for unknown,
 * expired, spent or revoked tokens.
 */
export async function rotate(db: Kysely<AuthDb>, settings: SessionSettings, refreshToken: string) {
  const tokenHash = hashRefreshToken(refreshToken)
  const now = settings.now()
  const spent = await db.transaction().execute(async (trx): Promise<Spent> => {
    // Write first: the conditional update both claims the token and takes SQLite's write lock.
    const claimed = await trx
      .updateTable('refresh_tokens')
      .set({ used_at: new Date(now).toISOString() })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst()
    const row = await trx
      .selectFrom('refresh_tokens')
      .select(['user_id', 'family_id', 'used_at', 'revoked_at'])
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst()
    if (Number(claimed.numUpdatedRows) === 1 && row)
      return { ok: true, userId: row.user_id, familyId: row.family_id }
    const reused = row && row.used_at !== null && row.revoked_at === null ? row.family_id : undefined
    return { ok: false, reused }
  })
  if (!spent.ok) {
    if (spent.reused) await revokeFamily(db, spent.reused, now)
    throw new TesseraError('UNAUTHORIZED', 'the refresh token is invalid, expired or already used')
  }
  const credential = await db
    .selectFrom('credentials')
    .select(['roles', 'status'])
    .where('user_id', '=', spent.userId)
    .executeTakeFirst()
  if (credential?.status !== 'active') throw new TesseraError('UNAUTHORIZED', 'the account is not active')
  return issueTokens(db, settings, spent.userId, parseRoles(credential.roles), spent.familyId)
}

/** Revokes every refresh token of the family `refreshToken` belongs to, if it is `userId`'s. */
export async function revokeRefreshToken(
  db: Kysely<AuthDb>,
  userId: string,
  refreshToken: string,
  now: number,
) {
  const row = await db
    .selectFrom('refresh_tokens')
    .select(['family_id'])
    .where('token_hash', '=', hashRefreshToken(refreshToken))
    .where('user_id', '=', userId)
    .executeTakeFirst()
  if (row) await revokeFamily(db, row.family_id, now)
}

async function revokeFamily(db: Kysely<AuthDb>, familyId: string, now: number): Promise<void> {
  await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: new Date(now).toISOString() })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .execute()
}

/** Adds an access token's `jti` to the revocation list until it expires; drops expired entries. */
export async function revokeAccessToken(db: Kysely<AuthDb>, jti: string, expiresAtMs: number, now: number) {
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('revoked_access_tokens')
      .values({ jti, expires_at: expiresAtMs })
      .onConflict((oc) => oc.doNothing())
      .execute()
    await trx.deleteFrom('revoked_access_tokens').where('expires_at', '<', now).execute()
  })
}

export function parseRoles(json: string): string[] {
  const roles: unknown = JSON.parse(json)
  return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : []
}
