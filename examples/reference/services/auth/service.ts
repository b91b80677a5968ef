import { createPrivateKey, type KeyObject } from 'node:crypto'
import { type Static, Type as T } from '@sinclair/typebox'
import { defineService, durable, type RouteRateLimit } from 'tessera/contract'
import { TesseraError } from 'tessera/errors'
import { type DatabaseConfig, databaseConfigFromEnv } from '../../lib/database-config.ts'
import { durableByDefault } from '../../lib/durable-default.ts'
import { normalizeEmail } from '../../lib/email.ts'
import { type OutboxRelay, startOutboxRelay, writeOutbox } from '../../lib/outbox.ts'
import { hasRole, requirePrincipal } from '../../lib/principal.ts'
import { DisplayName, Email, Id, Password, Timestamp } from '../../lib/schemas.ts'
import { databaseSlot } from '../../lib/service-database.ts'
import type { UsersService } from '../users/service.ts'
import { activate, claimEmail, findActiveByEmail, releaseClaim } from './credentials.ts'
import { migrations } from './db/migrations.ts'
import type { AuthDb } from './db/schema.ts'
import { SessionRevoked } from './events.ts'
import { signingKeysFromEnv } from './keys.ts'
import {
  accountKey,
  clearLoginFailures,
  DEFAULT_LOGIN_THROTTLE,
  type LoginThrottle,
  takeLoginAttempt,
} from './login-throttle.ts'
import { dummyHash, hashPassword, verifyPassword } from './passwords.ts'
import { changeRole, GrantableRole } from './roles.ts'
import {
  issueTokens,
  parseRoles,
  revokeAccessToken,
  revokeRefreshToken,
  rotate,
  type SessionSettings,
} from './sessions.ts'

const RefreshToken = T.String({ minLength: 16, maxLength: 256 })
const TokenPair = T.Object({
  userId: Id,
  accessToken: T.String(),
  refreshToken: T.String(),
  tokenType: T.Literal('Bearer'),
  expiresIn: T.Integer({ minimum: 1 }),
})

export const UserRegistered = T.Object({
  userId: Id,
  email: Email,
  name: DisplayName,
  registeredAt: Timestamp,
})

export interface AuthOptions {
  database?: DatabaseConfig
  /**
   * The Ed25519 private key (KeyObject or PKCS#8 PEM) access tokens are signed with;
   * by default `TESSERA_JWT_PRIVATE_KEY`, else the key files in the data dir (keys.ts).
   */
  privateKey?: KeyObject | string
  /** Access token lifetime. Default 15 minutes: revocation is a backstop, expiry the rule. */
  accessTokenTtlSec?: number
  /** Refresh token lifetime. Default 30 days. */
  refreshTokenTtlSec?: number
  /**
   * How failed logins for one account back off (5 free, then 1 s doubling up to 15 min,
   * forgotten after 24 h); see login-throttle.ts.
   */
  loginThrottle?: Partial<LoginThrottle>
  /** The gateway's per-IP limit on `POST /auth/login`. Default 10 per minute. */
  loginRateLimit?: RouteRateLimit
  now?: () => number
  /**
   * `user.registered` durable, written to the outbox in the transaction that activates the
   * account (docs/events.md). Default: under the runtime (socket or NATS) or on NATS (`durableByDefault`).
   */
  durableEvents?: boolean
}

/** Roles are never derived from an email: an admin grants them (`grantRole`), or the admin script (admin.ts). */
const NEW_ACCOUNT_ROLES = ['user']

const RoleChange = T.Object({ userId: Id, role: GrantableRole }, { additionalProperties: false })
const RolesOf = T.Object({ userId: Id, roles: T.Array(T.String()) })

/**
 * Accounts and sessions: scrypt password hashes, short-lived EdDSA (Ed25519) access tokens,
 * rotating refresh tokens stored hashed, and a revocation list the gateway asks through
 * `isRevoked`. Profiles live in the users service, created on register.
 *
 * @example
 * const auth = createAuthService({ privateKey: readFileSync('jwt.key', 'utf8'), database: { kind: 'sqlite', file: 'auth.sqlite' } })
 */
export function createAuthService(options: AuthOptions = {}) {
  const store = databaseSlot<AuthDb>(
    'auth',
    migrations,
    () => options.database ?? databaseConfigFromEnv('auth'),
  )
  const now = options.now ?? Date.now
  let settings: SessionSettings | undefined
  const durableEvents = options.durableEvents ?? durableByDefault()
  let relay: OutboxRelay | undefined
  const session = (): SessionSettings => {
    if (!settings) throw new TesseraError('UNAVAILABLE', 'auth is not started')
    return settings
  }
  const throttle: LoginThrottle = { ...DEFAULT_LOGIN_THROTTLE, ...options.loginThrottle }
  const requireAdmin = (ctx: Parameters<typeof requirePrincipal>[0]) => {
    const principal = requirePrincipal(ctx)
    if (!hasRole(principal, 'admin')) throw new TesseraError('FORBIDDEN', 'only an admin may change roles')
    return principal
  }

  return defineService({
    name: 'auth',
    version: '1.0.0',
    events: {
      'user.registered': durableEvents ? durable(UserRegistered) : UserRegistered,
      'session.revoked': SessionRevoked,
    },
    policy: { timeout: 5_000 },
    actions: ({ action }) => ({
      register: action({
        description: 'Creates an account and its profile, and logs in.',
        input: T.Object(
          { email: Email, password: Password, name: DisplayName },
          { additionalProperties: false },
        ),
        output: TokenPair,
        http: { method: 'POST', path: '/auth/register', auth: 'public' },
        handler: async ({ email, password, name }, ctx) => {
          const normalized = normalizeEmail(email)
          const roles = NEW_ACCOUNT_ROLES
          // Hash before any transaction: holding a write lock through 50+ ms of scrypt would stall others.
          const hash = await hashPassword(password)
          const userId = await claimEmail(store.db, normalized, hash, roles, now())
          try {
            // Until the profile exists the account stays pending (no login): a failure leaves no half-account.
            await ctx.client<UsersService>('users').create({ id: userId, email: normalized, name })
            if (durableEvents) {
              const registered = {
                userId,
                email: normalized,
                name,
                registeredAt: new Date(now()).toISOString(),
              }
              // The account and its announcement commit together; the relay sends it.
              await store.db.transaction().execute(async (trx) => {
                await activate(trx, userId)
                await writeOutbox(trx, 'user.registered', registered, `user.registered:${userId}`)
              })
              relay?.kick()
            } else {
              await activate(store.db, userId)
            }
          } catch (err) {
            // Let a retry take the claim over at once, with the same user id (users.create is idempotent).
            await releaseClaim(store.db, userId).catch(() => undefined)
            throw err
          }
          if (!durableEvents) {
            await ctx.emit('user.registered', {
              userId,
              email: normalized,
              name,
              registeredAt: new Date(now()).toISOString(),
            })
          }
          return issueTokens(store.db, session(), userId, roles)
        },
      }),
      login: action({
        description:
          'Exchanges email and password for tokens. UNAUTHORIZED names neither which was wrong; ' +
          'RATE_LIMITED (Retry-After) after 5 failures for the account, backing off from 1 s to 15 min.',
        input: T.Object({ email: Email, password: Password }, { additionalProperties: false }),
        output: TokenPair,
        http: {
          method: 'POST',
          path: '/auth/login',
          auth: 'public',
          // Per client IP, at the gateway; the per-account backoff below holds whatever the IP.
          rateLimit: options.loginRateLimit ?? { max: 10, windowMs: 60_000 },
        },
        handler: async ({ email, password }) => {
          const normalized = normalizeEmail(email)
          const key = accountKey(normalized)
          // Before the password is looked at: a locked account is refused even with the right one.
          await takeLoginAttempt(store.db, key, now(), throttle)
          const credential = await findActiveByEmail(store.db, normalized)
          const ok = await verifyPassword(password, credential?.password_hash ?? (await dummyHash()))
          if (!credential || !ok) throw new TesseraError('UNAUTHORIZED', 'wrong email or password')
          await clearLoginFailures(store.db, key)
          return issueTokens(store.db, session(), credential.user_id, parseRoles(credential.roles))
        },
      }),
      refresh: action({
        description: 'Rotates a refresh token into a new token pair; a replayed one ends its session.',
        input: T.Object({ refreshToken: RefreshToken }, { additionalProperties: false }),
        output: TokenPair,
        http: { method: 'POST', path: '/auth/refresh', auth: 'public' },
        handler: ({ refreshToken }) => rotate(store.db, session(), refreshToken),
      }),
      logout: action({
        description: "Revokes the caller's access token and, if given, the refresh token's session.",
        input: T.Object({ refreshToken: T.Optional(RefreshToken) }, { additionalProperties: false }),
        output: T.Object({ loggedOut: T.Literal(true) }),
        idempotent: true,
        http: { method: 'POST', path: '/auth/logout', auth: 'authenticated' },
        handler: async ({ refreshToken }, ctx) => {
          const principal = requirePrincipal(ctx)
          const { jti, exp } = principal.claims ?? {}
          const at = now()
          if (typeof jti === 'string' && typeof exp === 'number') {
            await revokeAccessToken(store.db, jti, exp * 1000, at)
            await ctx.emit('session.revoked', { userId: principal.id, jti })
          }
          if (refreshToken) await revokeRefreshToken(store.db, principal.id, refreshToken, at)
          return { loggedOut: true as const }
        },
      }),
      grantRole: action({
        description: "Gives an account a role (admin only); it is in the account's next tokens.",
        input: RoleChange,
        output: RolesOf,
        idempotent: true,
        http: { method: 'POST', path: '/auth/users/:userId/roles', auth: 'authenticated' },
        handler: async ({ userId, role }, ctx) => {
          const admin = requireAdmin(ctx)
          return {
            userId,
            roles: await changeRole(store.db, userId, role, true, { userId: admin.id }, now()),
          }
        },
      }),
      revokeRole: action({
        description:
          'Takes a role from an account (admin only); tokens already issued keep it until they expire.',
        input: RoleChange,
        output: RolesOf,
        idempotent: true,
        http: { method: 'DELETE', path: '/auth/users/:userId/roles/:role', auth: 'authenticated' },
        handler: async ({ userId, role }, ctx) => {
          const admin = requireAdmin(ctx)
          return {
            userId,
            roles: await changeRole(store.db, userId, role, false, { userId: admin.id }, now()),
          }
        },
      }),
      isRevoked: action({
        description: 'Whether an access token (by its jti) was revoked; the gateway asks on every request.',
        input: T.Object({ jti: T.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
        output: T.Object({ revoked: T.Boolean() }),
        idempotent: true,
        // Only the gateway checks tokens; no service needs to probe which tokens exist.
        callers: ['gateway'],
        handler: async ({ jti }) => {
          const row = await store.db
            .selectFrom('revoked_access_tokens')
            .select('jti')
            .where('jti', '=', jti)
            .executeTakeFirst()
          return { revoked: row !== undefined }
        },
      }),
    }),
    started: async (kit) => {
      const given = options.privateKey
      const key =
        given === undefined
          ? (await signingKeysFromEnv()).privateKey
          : typeof given === 'string'
            ? createPrivateKey(given)
            : given
      settings = {
        key,
        accessTtlSec: options.accessTokenTtlSec ?? 15 * 60,
        refreshTtlSec: options.refreshTokenTtlSec ?? 30 * 24 * 3600,
        now,
      }
      await store.open()
      if (!durableEvents) return
      relay = startOutboxRelay({
        db: () => store.db,
        publish: (_event, payload, id) =>
          kit.emit('user.registered', payload as Static<typeof UserRegistered>, { eventId: id }),
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

const auth = createAuthService()
export default auth
export type AuthService = typeof auth
