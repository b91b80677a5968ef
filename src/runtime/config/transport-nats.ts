import type { NodeCredential } from '../../identity/index.ts'
import type { Logger } from '../../observability/index.ts'
import type { Transport } from '../../transport/index.ts'
import { type NatsCredentials, natsTransport } from '../../transport/nats/index.ts'
import type { ResolvedTransport } from './units.ts'

/**
 * The NATS transport of a resolved config; its own module so an instance build of a NATS
 * system never loads the socket transport. `credential` is the node's certificate (peers
 * are then known by theirs, decision 0014); `login` is its unit's NATS login
 * (`loadNatsLogins(…).loginFor(unit)`), which takes the place of `transport.credentials`.
 * Both come to an instance over IPC, never in its environment.
 */
export function natsTransportOf(
  config: ResolvedTransport,
  logger?: Logger,
  credential?: NodeCredential,
  login?: NatsCredentials,
): Transport & AsyncDisposable {
  if (config.kind !== 'nats') throw new TypeError(`expected a NATS transport, got ${config.kind}`)
  const credentials = login ?? config.credentials
  return natsTransport({
    servers: config.servers,
    namespace: config.namespace,
    ...(credentials ? { credentials } : {}),
    ...(credential ? { credential } : {}),
    ...(logger ? { logger } : {}),
  })
}
