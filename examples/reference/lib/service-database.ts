import type { Kysely, Migration } from 'kysely'
import type { Context } from 'tessera/contract'
import { TesseraError } from 'tessera/errors'
import { openDatabase, type ServiceDatabase } from './database.ts'
import type { DatabaseConfig } from './database-config.ts'
import { QuerySpans } from './query-spans.ts'

/** The database slot of one service instance: opened by `started`, closed by `stopped`. */
export interface DatabaseSlot<DB> {
  /** The open database; throws UNAVAILABLE (retryable) before `open` or after `close`. */
  readonly db: Kysely<DB>
  /** The database for one call: each query is a span in the call's trace (when traced). */
  at(ctx: Context): Kysely<DB>
  /** Opens and migrates, then runs `afterMigrate` (e.g. seeding). Rejects if already open. */
  open(): Promise<void>
  /** Closes the connections; a no-op when not open. */
  close(): Promise<void>
}

/**
 * Holds one service's database for the lifetime of its instance, so handlers never see a
 * half-opened or closed database: calls before `open` (or after `close`) fail UNAVAILABLE.
 * `config` is a thunk so the environment is read when the service starts, not when its
 * module is imported.
 *
 * @example
 * const store = databaseSlot<UsersDb>('users', migrations, () => options.database ?? databaseConfigFromEnv('users'))
 * defineService({ name: 'users', started: () => store.open(), stopped: () => store.close(), ... })
 */
export function databaseSlot<DB>(
  service: string,
  migrations: Record<string, Migration>,
  config: () => DatabaseConfig,
  afterMigrate?: (db: Kysely<DB>) => Promise<void>,
): DatabaseSlot<DB> {
  let current: ServiceDatabase<DB> | undefined
  return {
    get db() {
      if (!current) throw new TesseraError('UNAVAILABLE', `the ${service} database is not open`)
      return current.db
    },
    at(ctx) {
      if (!current) throw new TesseraError('UNAVAILABLE', `the ${service} database is not open`)
      return current.db.withPlugin(new QuerySpans(ctx, current.kind === 'sqlite' ? 'sqlite' : 'postgresql'))
    },
    async open() {
      if (current) throw new TesseraError('CONFLICT', `the ${service} database is already open`)
      const opened = await openDatabase<DB>(service, migrations, config())
      try {
        await afterMigrate?.(opened.db)
      } catch (err) {
        await opened.close()
        throw err
      }
      current = opened
    },
    async close() {
      const closing = current
      current = undefined
      await closing?.close()
    },
  }
}
