import type { Logger } from '../../observability/index.ts'
import type { Transport } from '../../transport/index.ts'
import { natsTransportOf } from './transport-nats.ts'
import { socketTransportOf } from './transport-socket.ts'
import type { ResolvedTransport } from './units.ts'

/** Builds the transport every instance and the supervisor's own caller share. */
export function createTransport(config: ResolvedTransport, logger?: Logger): Transport & AsyncDisposable {
  return config.kind === 'socket' ? socketTransportOf(config, logger) : natsTransportOf(config, logger)
}
