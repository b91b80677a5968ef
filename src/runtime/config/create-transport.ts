import type { NodeCredential } from '../../identity/index.ts'
import type { Logger } from '../../observability/index.ts'
import type { Transport } from '../../transport/index.ts'
import type { NatsCredentials } from '../../transport/nats/index.ts'
import { defaultTransportKinds, type TransportKinds, transportKindOf } from './transport-kinds.ts'
import type { ResolvedTransport } from './units.ts'

/**
 * Builds the transport every instance and the supervisor's own caller share, by the kind
 * of `config`, from `kinds` (default: the socket and NATS transports). With a credential
 * (the runtime's, see `Supervisor.join`) the transport proves this node's identity to its
 * peers and refuses peers that cannot prove theirs; on NATS `natsLogin` is the unit's own
 * server login (decision 0014). A kind missing from `kinds` is a BAD_REQUEST.
 */
export function createTransport(
  config: ResolvedTransport,
  logger?: Logger,
  credential?: NodeCredential,
  natsLogin?: NatsCredentials,
  kinds: TransportKinds = defaultTransportKinds,
): Transport & AsyncDisposable {
  return transportKindOf(kinds, config.kind).create(config, logger, credential, natsLogin)
}
