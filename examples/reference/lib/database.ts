import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, type Migration, Migrator, PostgresDialect, SqliteDialect } from 'kysely'
import { ensurePrivateDir, ensurePrivateFile, tightenIfExists } from 'tessera/files'
import { type DatabaseConfig, databaseConfigFromEnv } from './database-config.ts'
import { querySpanLog } from './query-spans.ts'

/** An open, migrated database of one service. `close()` ends its connections. */
export interface ServiceDatabase<DB> {
  readonly db: Kysely<DB>
  readonly kind: DatabaseConfig['kind']
  close(): Promise<void>
}

/** How long a writer waits for another process's write lock before SQLITE_BUSY. */
const SQLITE_BUSY_TIMEOUT_MS = 5_000
const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]*$/

/**
 * Opens the database of `service` and applies its migrations (in name order) before
 * returning, so a service's `started` hook can call it and take traffic afterwards.
 * Rejects when a migration fails; the connections are closed then.
 *
 * SQLite runs in WAL mode with a busy timeout, so several instances of a service (one
 * file, several processes) can read while one writes. Its folder is 0700 and its files
 * 0600 whatever the umask (they hold password hashes and orders), also when an older
 * run left them looser. PostgreSQL gets the service's own schema (created if missing)
 * as its `search_path`.
 *
 * @example
 * const { db, close } = await openDatabase<CatalogDb>('catalog', migrations)
 */
export async function openDatabase<DB>(
  service: string,
  migrations: Record<string, Migration>,
  config: DatabaseConfig = databaseConfigFromEnv(service),
): Promise<ServiceDatabase<DB>> {
  const db = config.kind === 'sqlite' ? openSqlite<DB>(config.file) : await openPostgres<DB>(config)
  try {
    await migrate(db, migrations, config.kind === 'postgres' ? config.schema : undefined)
  } catch (err) {
    await db.destroy()
    throw err
  }
  return { db, kind: config.kind, close: () => db.destroy() }
}

function openSqlite<DB>(file: string): Kysely<DB> {
  if (file !== ':memory:') {
    ensurePrivateDir(dirname(file))
    // SQLite would create the file with the umask's mode (0644 under 022) and gives its
    // -wal and -shm the main file's mode: made 0600 first, the companions follow.
    // Companions left by an older run are tightened before SQLite opens them.
    tightenIfExists(`${file}-wal`, 0o600)
    tightenIfExists(`${file}-shm`, 0o600)
    ensurePrivateFile(file)
  }
  const database = new SQLite(file)
  database.pragma('journal_mode = WAL')
  database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`)
  // NORMAL is durable across process crashes in WAL mode; only a power cut can lose the last commits.
  database.pragma('synchronous = NORMAL')
  database.pragma('foreign_keys = ON')
  return new Kysely<DB>({ dialect: new SqliteDialect({ database }), log: querySpanLog })
}

async function openPostgres<DB>(config: { url: string; schema: string }): Promise<Kysely<DB>> {
  if (!SAFE_IDENTIFIER.test(config.schema)) throw new TypeError(`unsafe schema name "${config.schema}"`)
  // Loaded only for PostgreSQL: an instance on SQLite (the default) does not carry the
  // pg driver's modules in its memory.
  const { default: pg } = await import('pg')
  // The schema must exist before a connection uses it as search_path.
  const admin = new pg.Client({ connectionString: config.url })
  await admin.connect()
  try {
    await admin.query(`create schema if not exists "${config.schema}"`)
  } finally {
    await admin.end()
  }
  const pool = new pg.Pool({
    connectionString: config.url,
    options: `-c search_path=${config.schema}`,
    max: 10,
  })
  // An idle pooled connection that the server ends (a restart, an administrator) is
  // reported on the pool; unhandled, that event would crash the process. The pool
  // drops the client and opens a new one on the next query, so there is nothing to do.
  pool.on('error', () => {})
  // The same for a connection that is checked out but between queries, e.g. one whose
  // transaction waits on a call to another service: the server may end it (a restart,
  // idle_in_transaction_session_timeout) and pg reports that on the client, where no one
  // listens, which would crash the process. With a listener the transaction's next query
  // fails instead (a typed error for that one call), and the pool drops the client when
  // it is released (it is no longer queryable).
  pool.on('connect', (client) => {
    client.on('error', () => {})
  })
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }), log: querySpanLog })
}

/**
 * Runs pending migrations. Two instances starting together race for SQLite's write lock:
 * the loser's deferred transaction gets SQLITE_BUSY at once (no busy wait on a lock
 * upgrade), so it retries; by then the winner's migrations are recorded and skipped.
 */
async function migrate<DB>(
  db: Kysely<DB>,
  migrations: Record<string, Migration>,
  schema: string | undefined,
): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    // Kysely looks for its bookkeeping tables across all schemas unless told which one:
    // with several services in one PostgreSQL database it would find another's.
    ...(schema ? { migrationTableSchema: schema } : {}),
  })
  for (let attempt = 1; ; attempt++) {
    const { error } = await migrator.migrateToLatest()
    if (!error) return
    if (!isSqliteBusy(error) || attempt >= 20) throw error
    await new Promise((r) => setTimeout(r, 50 * attempt))
  }
}

function isSqliteBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY')
}
