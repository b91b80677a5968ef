import type { Logger } from '../../observability/index.ts'
import type { Transport } from '../../transport/index.ts'
import { natsTransport } from '../../transport/nats/index.ts'
import { socketTransport } from '../../transport/socket/index.ts'
import type { ResolvedTransport } from './units.ts'

/** Builds the transport every instance and the supervisor's own caller share. */
export function createTransport(config: ResolvedTransport, logger?: Logger): Transport & AsyncDisposable {
  switch (config.kind) {
    case 'socket':
      return socketTransport({ dir: config.dir, ...(logger ? { logger } : {}) })
    case 'nats':
      return natsTransport({
        servers: config.servers,
        namespace: config.namespace,
        ...(config.credentials ? { credentials: config.credentials } : {}),
        ...(logger ? { logger } : {}),
      })
  }
}
