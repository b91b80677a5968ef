import { createHash } from 'node:crypto'
import { resolve } from 'node:path'
import type { SystemConfig } from './schema.ts'

/** The state dir of a system: `stateDir` of the config (default `.tessera`), relative to its root. */
export function systemStateDir(config: SystemConfig, root: string): string {
  return resolve(root, config.stateDir ?? '.tessera')
}

/**
 * A short key for one state dir: two copies of a system in different folders get
 * different NATS namespaces and socket dirs (`resolveTransport`). The supervisor and
 * `tessera nats-config` must agree on it, so both compute it here.
 */
export function stateKeyOf(stateDir: string): string {
  return createHash('sha256').update(stateDir).digest('hex').slice(0, 8)
}
