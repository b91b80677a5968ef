import type { NodeCredential } from '../../identity/index.ts'
import type { Logger } from '../../observability/index.ts'
import type { Transport } from '../../transport/index.ts'
import type { NatsCredentials } from '../../transport/nats/index.ts'
import { natsTransportOf } from './transport-nats.ts'
import { socketTransportOf } from './transport-socket.ts'
import type { ResolvedTransport } from './units.ts'

/**
 * Builds the transport every instance and the supervisor's own caller share. With a
 * credential (the runtime's, see `Supervisor.join`) the transport proves this node's
 * identity to its peers and refuses peers that cannot prove theirs; on NATS `natsLogin`
 * is the unit's own server login (decision 0014).
 */
export function createTransport(
  config: ResolvedTransport,
  logger?: Logger,
  credential?: NodeCredential,
  natsLogin?: NatsCredentials,
): Transport & AsyncDisposable {
  return config.kind === 'socket'
    ? socketTransportOf(config, logger, credential)
    : natsTransportOf(config, logger, credential, natsLogin)
}
