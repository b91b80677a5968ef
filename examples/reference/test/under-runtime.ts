import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ServiceConfig, SupervisorOptions } from 'tessera/runtime'
import config from '../tessera.config.ts'
import { TEST_KEYS } from './helpers.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * The reference system as the runtime runs it, for `createSupervisor`: one process per
 * instance over the socket transport, data (SQLite files) and state under `dir`, tokens
 * signed with the test key pair, the gateway on a free port (`sup.address('gateway')`).
 */
export function referenceUnderRuntime(dir: string): SupervisorOptions {
  const env = {
    TESSERA_DATA_DIR: join(dir, 'data'),
    TESSERA_JWT_PRIVATE_KEY: TEST_KEYS.privatePem,
    TESSERA_JWT_PUBLIC_KEY: TEST_KEYS.publicPem,
  }
  const services: Record<string, ServiceConfig> = Object.fromEntries(
    Object.entries(config.services).map(([name, spec]) => [
      name,
      { ...spec, env, ...(name === 'gateway' ? { listen: { port: 0, host: '127.0.0.1' } } : {}) },
    ]),
  )
  return { config: { ...config, services, stateDir: join(dir, 'state') }, root }
}
