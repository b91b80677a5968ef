import { Type as T } from '@sinclair/typebox'
import { type Context, defineService } from 'tessera/contract'
import { TesseraError } from 'tessera/errors'
import { type DatabaseConfig, databaseConfigFromEnv } from '../../lib/database-config.ts'
import { normalizeEmail } from '../../lib/email.ts'
import { hasRole, requirePrincipal } from '../../lib/principal.ts'
import { DisplayName, Email, Id, Timestamp } from '../../lib/schemas.ts'
import { databaseSlot } from '../../lib/service-database.ts'
import { migrations } from './db/migrations.ts'
import type { UsersDb } from './db/schema.ts'

export const User = T.Object({ id: Id, email: Email, name: DisplayName, createdAt: Timestamp })

export interface UsersOptions {
  /** Where the profiles live; from the environment when the service starts, by default. */
  database?: DatabaseConfig
}

/**
 * Profiles of registered users. `create` has no route: only auth calls it, on register.
 * A user may read only their own profile unless they hold the `admin` role.
 *
 * @example
 * const users = createUsersService({ database: { kind: 'sqlite', file: '/tmp/users.sqlite' } })
 */
export function createUsersService(options: UsersOptions = {}) {
  const store = databaseSlot<UsersDb>(
    'users',
    migrations,
    () => options.database ?? databaseConfigFromEnv('users'),
  )

  const find = async (id: string, ctx: Context) => {
    const row = await store.at(ctx).selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
    return row && { id: row.id, email: row.email, name: row.name, createdAt: row.created_at }
  }

  return defineService({
    name: 'users',
    version: '1.0.0',
    // Long enough to ride out a NATS failover: every server down 2 s, the clients back
    // ~0.5 s later (test/integration/hosts/reference.test.ts; a call is held meanwhile).
    policy: { timeout: 5_000 },
    actions: ({ action }) => ({
      create: action({
        description:
          'Creates a profile; called by auth on register. Repeating it with the same input is a no-op.',
        input: T.Object({ id: Id, email: Email, name: DisplayName }, { additionalProperties: false }),
        output: User,
        // Same id and email → the same profile, so auth may retry after a lost answer.
        idempotent: true,
        // Profiles are made on register, by auth only.
        callers: ['auth'],
        handler: async ({ id, email, name }, ctx) => {
          // The same spelling auth keys accounts under, so one address is one profile here too.
          const normalized = normalizeEmail(email)
          await store
            .at(ctx)
            .insertInto('users')
            .values({ id, email: normalized, name, created_at: new Date().toISOString() })
            .onConflict((oc) => oc.doNothing())
            .execute()
          const user = await find(id, ctx)
          if (!user || user.email !== normalized) {
            throw new TesseraError('CONFLICT', 'a profile with this id or email already exists', { id })
          }
          return user
        },
      }),
      get: action({
        description: "A user's profile: your own, or anyone's with the admin role.",
        input: T.Object({ id: Id }, { additionalProperties: false }),
        output: User,
        idempotent: true,
        http: { method: 'GET', path: '/users/:id', auth: 'authenticated' },
        handler: async ({ id }, ctx) => {
          const principal = requirePrincipal(ctx)
          if (principal.id !== id && !hasRole(principal, 'admin')) {
            throw new TesseraError('FORBIDDEN', 'you may only read your own profile')
          }
          const user = await find(id, ctx)
          if (!user) throw new TesseraError('NOT_FOUND', `user ${id} not found`, { id })
          return user
        },
      }),
      me: action({
        description: "The caller's own profile.",
        input: T.Object({}, { additionalProperties: false }),
        output: User,
        idempotent: true,
        http: { method: 'GET', path: '/me', auth: 'authenticated' },
        handler: async (_input, ctx) => {
          const { id } = requirePrincipal(ctx)
          const user = await find(id, ctx)
          if (!user) throw new TesseraError('NOT_FOUND', `user ${id} not found`, { id })
          return user
        },
      }),
    }),
    started: () => store.open(),
    stopped: () => store.close(),
  })
}

const users = createUsersService()
export default users
export type UsersService = typeof users
