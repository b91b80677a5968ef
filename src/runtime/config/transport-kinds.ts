import { dirname, extname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TesseraError } from '../../errors/index.ts'
import type { NodeCredential } from '../../identity/index.ts'
import type { Logger } from '../../observability/index.ts'
import type { Transport } from '../../transport/index.ts'
import type { NatsCredentials } from '../../transport/nats/index.ts'
import { createEventStore } from '../../transport/socket/index.ts'
import type { SystemConfig, TransportConfig } from './schema.ts'
import { natsTransportOf } from './transport-nats.ts'
import { socketTransportOf } from './transport-socket.ts'
import type { ResolvedTransport } from './units.ts'

/**
 * Builds a transport from its resolved settings. With a credential the transport proves
 * this node's identity to its peers (decision 0013); `natsLogin` is a unit's own NATS
 * server login (decision 0014), ignored by kinds without server logins.
 */
export type TransportFactory = (
  config: ResolvedTransport,
  logger?: Logger,
  credential?: NodeCredential,
  natsLogin?: NatsCredentials,
) => Transport & AsyncDisposable

/** The factory as a module an instance bundle imports by path, so it loads only its own kind. */
export interface InstanceTransportModule {
  /** Absolute path of the module (`.ts` in a checkout, `.js` when installed). */
  file: string
  /** Its export, a `TransportFactory`. */
  exportName: string
}

/**
 * Everything the runtime knows about one kind of transport: how a config of that kind is
 * resolved for one system, how the supervisor and instances build it, and what an instance
 * needs of the file system to use it. The supervisor is handed a table of these
 * (`SupervisorOptions.transports`), so nothing else in the runtime tells kinds apart.
 */
export interface TransportKind {
  /** Fills in the defaults one system's instances share (socket dir, NATS namespace). */
  resolve(config: TransportConfig, system: { name: string; stateKey: string }): ResolvedTransport
  /** What the supervisor's caller, `Supervisor.join` and the tsx fallback build. */
  create: TransportFactory
  /** The same factory as a module of its own, imported by each unit's bundle. */
  instanceModule: InstanceTransportModule
  /**
   * Folders an instance reads and writes to use this transport: granted under the
   * permission model (`own-folder`), and what a container would mount.
   */
  instanceDirs(config: ResolvedTransport): string[]
  /**
   * Optional. Starts what the supervisor serves for this kind while the system is up, in
   * the system's state (the socket kind's event store, `<stateDir>/events`); closed at down.
   */
  serve?(
    config: ResolvedTransport,
    o: { stateDir: string; logger?: Logger },
  ): Promise<{ close(): Promise<void> }>
}

/** One entry per transport kind of the config schema. */
export type TransportKinds = Readonly<Record<ResolvedTransport['kind'], TransportKind>>

const here = dirname(fileURLToPath(import.meta.url))
// `.ts` in a checkout (tests run the sources), `.js` in the published build.
const ext = extname(fileURLToPath(import.meta.url))
const moduleOf = (base: string, exportName: string): InstanceTransportModule => ({
  file: resolve(here, `${base}${ext}`),
  exportName,
})

/**
 * The transports Tessera ships: the socket transport (one machine, a Unix socket per node
 * in a shared folder) and NATS. The one place a config kind meets its code.
 */
export const defaultTransportKinds: TransportKinds = {
  socket: {
    resolve(config, system) {
      if (config.kind !== 'socket') throw new TypeError(`expected a socket config, got ${config.kind}`)
      // Socket paths are limited to ~107 bytes, so the default lives under /tmp, keyed by the state dir.
      const dir = config.dir ?? `/tmp/tessera-${system.name}-${system.stateKey}`
      // A dotfile: discovery ignores it, so no node takes the store for a peer.
      return { kind: 'socket', dir, events: join(dir, '.events.sock') }
    },
    create: (config, logger, credential) => socketTransportOf(config, logger, credential),
    instanceModule: moduleOf('./transport-socket', 'socketTransportOf'),
    instanceDirs: (config) => (config.kind === 'socket' ? [config.dir] : []),
    async serve(config, o) {
      if (config.kind !== 'socket' || !config.events) return { close: async () => {} }
      return createEventStore({
        dir: join(o.stateDir, 'events'),
        socketPath: config.events,
        ...(o.logger ? { logger: o.logger } : {}),
      })
    },
  },
  nats: {
    resolve(config, system) {
      if (config.kind !== 'nats') throw new TypeError(`expected a NATS config, got ${config.kind}`)
      return {
        kind: 'nats',
        servers: Array.isArray(config.servers) ? config.servers : [config.servers],
        namespace: `${system.name}-${system.stateKey}`,
        ...(config.credentials ? { credentials: config.credentials } : {}),
      }
    },
    create: natsTransportOf,
    instanceModule: moduleOf('./transport-nats', 'natsTransportOf'),
    instanceDirs: () => [],
  },
}

/** The entry of `kind` in `kinds`; a table missing it (a partial one built at run time) is a BAD_REQUEST. */
export function transportKindOf(kinds: TransportKinds, kind: string): TransportKind {
  const found = (kinds as Partial<Record<string, TransportKind>>)[kind]
  if (!found)
    throw new TesseraError(
      'BAD_REQUEST',
      `no transport of kind ${kind} in this runtime (known: ${Object.keys(kinds).join(', ')})`,
    )
  return found
}

/** Resolves a system's transport config (default: the socket transport) through `kinds`. */
export function resolveTransportWith(
  kinds: TransportKinds,
  config: SystemConfig,
  stateKey: string,
): ResolvedTransport {
  const t: TransportConfig = config.transport ?? { kind: 'socket' }
  return transportKindOf(kinds, t.kind).resolve(t, { name: config.name, stateKey })
}
