import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PostgresServer, postgresAvailable, startPostgres } from '../../../test/support/postgres.ts'
import { openDatabase } from './database.ts'

// A connection the server ends while a transaction holds it between two queries (here
// pg_terminate_backend; in the 3-host test idle_in_transaction_session_timeout while the
// handler waited on another service) must fail that transaction, not crash the process:
// pg reports it as an 'error' event on the client, which nothing else listens to.
describe.runIf(postgresAvailable())('openDatabase on PostgreSQL', () => {
  let server: PostgresServer
  beforeAll(async () => {
    server = await startPostgres()
  }, 60_000)
  afterAll(() => server?.stop())

  it('fails the transaction whose connection the server ended, and keeps serving', async () => {
    const url = await server.createDatabase('ended')
    const { db, close } = await openDatabase<{ notes: { id: number } }>(
      'notes',
      {
        '001': {
          up: async (d) => {
            await d.schema
              .createTable('notes')
              .addColumn('id', 'integer', (c) => c.primaryKey())
              .execute()
          },
        },
      },
      { kind: 'postgres', url, schema: 'notes' },
    )
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      const uncaught: unknown[] = []
      const onUncaught = (err: unknown) => uncaught.push(err)
      process.on('uncaughtException', onUncaught)
      try {
        const outcome = db
          .transaction()
          .execute(async (tx) => {
            const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)
            await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid])
            // Idle in the transaction while the server's FATAL arrives.
            await new Promise((r) => setTimeout(r, 300))
            await tx.insertInto('notes').values({ id: 1 }).execute()
          })
          .then(
            () => 'committed',
            (err: Error) => err.message,
          )
        expect(await outcome).not.toBe('committed')
      } finally {
        process.off('uncaughtException', onUncaught)
      }
      expect(uncaught).toEqual([])
      // The ended connection left the pool: the next transaction gets a live one.
      await db.insertInto('notes').values({ id: 2 }).execute()
      expect(await db.selectFrom('notes').select('id').execute()).toEqual([{ id: 2 }])
    } finally {
      await admin.end()
      await close()
    }
  }, 30_000)
})
