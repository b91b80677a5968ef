/**
 * The main flows end to end over HTTP on a real PostgreSQL (one schema per service in one
 * database), the services as processes under the runtime. Skipped where PostgreSQL 15 is
 * not installed (`.ci/run` installs it).
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PostgresServer, postgresAvailable, startPostgres } from '../../../../test/support/postgres.ts'
import { type E2eSystem, startE2e } from './harness.ts'
import { badInput, mainFlow } from './scenarios.ts'

describe.skipIf(!postgresAvailable())('the reference system over HTTP (PostgreSQL)', () => {
  let server: PostgresServer | undefined
  let starting: Promise<E2eSystem> | undefined
  let system: E2eSystem | undefined
  let databaseUrl = ''
  const current = () => {
    if (!system) throw new Error('the system did not start')
    return system
  }
  beforeAll(async () => {
    server = await startPostgres()
    databaseUrl = await server.createDatabase('reference_e2e')
    starting = startE2e({ databaseUrl })
    system = await starting
  }, 90_000)
  afterAll(async () => {
    try {
      await (await starting?.catch(() => undefined))?.close()
    } finally {
      await server?.stop()
    }
  }, 30_000)

  it('registers, logs in, browses, orders, and sees the notification live and in the inbox', () =>
    mainFlow(current))
  it('refuses malformed JSON, wrong types and huge bodies with 4xx and writes nothing', () =>
    badInput(current))

  // The flows above really ran on PostgreSQL: each service's tables in its own schema, holding the rows.
  it('kept the data in PostgreSQL, one schema per service', async () => {
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      const schemas = await client.query(
        "select schema_name from information_schema.schemata where schema_name in ('auth','users','catalog','orders','notifications') order by 1",
      )
      expect(schemas.rows.map((r) => r.schema_name)).toEqual([
        'auth',
        'catalog',
        'notifications',
        'orders',
        'users',
      ])
      const orders = await client.query('select count(*)::int as n from orders.orders')
      expect(orders.rows[0].n).toBeGreaterThanOrEqual(2)
    } finally {
      await client.end()
    }
  })
})
