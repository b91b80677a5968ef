import type { NodeCredential } from '../../identity/index.ts'
import type { Logger } from '../../observability/index.ts'
import type { Transport } from '../../transport/index.ts'
import { socketTransport } from '../../transport/socket/index.ts'
import type { ResolvedTransport } from './units.ts'

/** The socket transport of a resolved config; its own module so an instance build of a socket system never loads NATS. */
export function socketTransportOf(
  config: ResolvedTransport,
  logger?: Logger,
  credential?: NodeCredential,
): Transport & AsyncDisposable {
  if (config.kind !== 'socket') throw new TypeError(`expected a socket transport, got ${config.kind}`)
  return socketTransport({
    dir: config.dir,
    ...(logger ? { logger } : {}),
    ...(credential ? { credential } : {}),
    ...(config.events ? { durable: { socketPath: config.events } } : {}),
  })
}
