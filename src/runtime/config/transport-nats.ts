import type { Logger } from '../../observability/index.ts'
import type { Transport } from '../../transport/index.ts'
import { natsTransport } from '../../transport/nats/index.ts'
import type { ResolvedTransport } from './units.ts'

/** The NATS transport of a resolved config; its own module so an instance build of a NATS system never loads the socket transport. */
export function natsTransportOf(config: ResolvedTransport, logger?: Logger): Transport & AsyncDisposable {
  if (config.kind !== 'nats') throw new TypeError(`expected a NATS transport, got ${config.kind}`)
  return natsTransport({
    servers: config.servers,
    namespace: config.namespace,
    ...(config.credentials ? { credentials: config.credentials } : {}),
    ...(logger ? { logger } : {}),
  })
}
