import type { NatsConnection } from 'nats'
import type { Logger } from '../../observability/index.ts'
import type { Discovery } from './discovery.ts'

/** What the watcher needs besides the connection and discovery. */
export interface WatchDeps {
  logger: Logger
  /** True once close() was called: the connection's end is then expected. */
  isClosing(): boolean
  onPeerGone(nodeId: string, reason: string): void
  /** The connection dropped: the transport tells discovery and starts holding. */
  onDisconnect(): void
  /** Before discovery says HELLO again: the transport may send once peers are heard. */
  onReconnect(): void
}

/**
 * Follows the connection's life: tells the transport of a drop (it pauses liveness
 * judgement and holds messages) and of the reconnect, re-announces then
 * (discovery.reconnected), and, if the connection closes for good without close()
 * (e.g. credentials revoked during a reconnect, which nats.js gives up on), reports
 * every peer gone so the broker stops waiting.
 * Runs until the connection closes; never rejects.
 */
export function watchConnection(nc: NatsConnection, discovery: Discovery, deps: WatchDeps): void {
  const { logger } = deps
  const statuses = async () => {
    for await (const status of nc.status()) {
      switch (status.type) {
        case 'disconnect':
          logger.warn({ server: status.data }, 'nats: disconnected, reconnecting')
          deps.onDisconnect()
          break
        case 'reconnect':
          logger.info({ server: status.data }, 'nats: reconnected')
          deps.onReconnect()
          discovery.reconnected()
          break
        case 'error':
          // A permissions violation names the subject: a server whose permissions do
          // not fit this node's unit and namespace (decision 0014) shows up here.
          logger.error(
            {
              err: String(status.data),
              ...(status.permissionContext ? { permission: status.permissionContext } : {}),
            },
            'nats: server reported an error',
          )
          break
        case 'ldm':
          logger.warn({ server: status.data }, 'nats: server entering lame duck mode')
          break
      }
    }
  }
  statuses().catch((err: unknown) => logger.error({ err }, 'nats: status watcher failed'))
  nc.closed()
    .then((err) => {
      if (deps.isClosing()) return
      logger.error(
        { err: err instanceof Error ? err.message : undefined },
        'nats: connection closed for good',
      )
      discovery.stop()
      for (const nodeId of discovery.peers.clear()) {
        try {
          deps.onPeerGone(nodeId, 'nats connection closed')
        } catch (err) {
          logger.error({ err }, 'nats: onPeerGone threw (handlers must not throw)')
        }
      }
    })
    .catch((err: unknown) => logger.error({ err }, 'nats: close watcher failed'))
}
