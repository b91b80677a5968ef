import { join } from 'node:path'

/**
 * Where one service keeps its data: a SQLite file of its own, or its own schema in a
 * PostgreSQL database. Either way no two services share tables, so each can migrate,
 * back up or move on its own.
 */
export type DatabaseConfig =
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; url: string; schema: string }

/**
 * The config from the environment: `DATABASE_URL` set → PostgreSQL with a schema named
 * after the service (dashes become underscores); otherwise a SQLite file at
 * `$TESSERA_DATA_DIR/<service>.sqlite` (default `.tessera/data`, relative to the cwd).
 *
 * @example
 * databaseConfigFromEnv('catalog', { TESSERA_DATA_DIR: '/var/lib/shop' }) // { kind: 'sqlite', file: '/var/lib/shop/catalog.sqlite' }
 */
export function databaseConfigFromEnv(service: string, env: NodeJS.ProcessEnv = process.env): DatabaseConfig {
  const url = env.DATABASE_URL
  if (url) return { kind: 'postgres', url, schema: schemaName(service) }
  return { kind: 'sqlite', file: join(env.TESSERA_DATA_DIR ?? join('.tessera', 'data'), `${service}.sqlite`) }
}

/** A SQL identifier made from a service name (services are `[a-z][a-z0-9-]*`). */
export function schemaName(service: string): string {
  return service.replaceAll('-', '_')
}
