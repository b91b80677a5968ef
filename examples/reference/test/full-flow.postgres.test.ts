import { afterAll, beforeAll, describe } from 'vitest'
import { type PostgresServer, postgresAvailable, startPostgres } from '../../../test/support/postgres.ts'
import { schemaName } from '../lib/database-config.ts'
import { fullFlowTests } from './full-flow.ts'

// Without the binaries (a dev machine without `apt-get install postgresql`) this file is
// skipped, not failed; CI installs them (.ci/run), so there it always runs.
describe.runIf(postgresAvailable())('the reference system on PostgreSQL', () => {
  let server: PostgresServer
  let databases = 0
  beforeAll(async () => {
    server = await startPostgres()
  }, 60_000)
  afterAll(() => server?.stop())

  // One database per test, one schema per service inside it (as in production: DATABASE_URL + schema).
  fullFlowTests(async () => {
    const url = await server.createDatabase(`flow_${++databases}`)
    return {
      configFor: (service) => ({ kind: 'postgres', url, schema: schemaName(service) }),
      dispose: async () => {},
    }
  })
})
