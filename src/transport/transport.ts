import type { Message, NodeInfo } from '../wire/index.ts'
import type { DurableEvents } from './durable.ts'

/**
 * What the broker gives a transport: where to deliver what arrives.
 * Handlers must not throw; they are called synchronously from the transport's I/O.
 */
export interface TransportHandlers {
  /** A message from peer `from`. */
  onMessage(from: string, message: Message): void
  /** A peer appeared or re-announced (newer `seq`). */
  onPeer(info: NodeInfo): void
  /**
   * A peer is gone: it closed, its connection dropped, or it missed heartbeats.
   * The broker fails calls in flight to it with UNAVAILABLE at once, except the requests
   * in `resending`: the transport keeps those and may send them again to the same node
   * if it comes back (decision 0033); it ends each later, by its answer or by `onLost`.
   */
  onPeerGone(nodeId: string, reason: string, resending?: ReadonlySet<number>): void
  /**
   * Optional. The peer is still there, but messages between it and this node may have
   * been lost (e.g. the NATS connection of either side dropped). The broker fails calls
   * in flight to it with UNAVAILABLE (they may have run, so only idempotent ones are
   * retried) and keeps routing to it. Transports that cannot lose messages never call it.
   * The requests in `resending` are not failed: the transport sends them again itself,
   * marked as resends the peer runs at most once (decision 0033), and ends each later by
   * its answer or by `onLost`.
   */
  onLinkLost?(nodeId: string, reason: string, resending?: ReadonlySet<number>): void
  /**
   * Optional. Request `requestId` to `nodeId`, which the transport was resending, can no
   * longer be answered (its peer did not come back, or came back as another process, or
   * its deadline came while the resend was held). It may have run: the broker fails it
   * with UNAVAILABLE, not marked undelivered, so only an idempotent call is retried.
   */
  onLost?(nodeId: string, requestId: number, reason: string): void
  /**
   * Optional. Request `requestId` to `nodeId`, which `send` accepted, was dropped
   * without ever leaving this node (e.g. held while the peer was unreachable until its
   * deadline came near). The broker fails that call with UNAVAILABLE and
   * `delivered: false`, so it may be retried on any instance.
   */
  onUndelivered?(nodeId: string, requestId: number, reason: string): void
  /**
   * Optional. How many calls this node awaits answers to from `nodeId` now. A transport
   * that cannot see a peer's connection die (NATS: a frozen or partitioned peer) judges
   * only the peers it is owed answers by, and reports one gone when it stops answering.
   */
  inFlight?(nodeId: string): number
}

/**
 * Moves messages between nodes and tells the broker which nodes exist. It knows
 * nothing of services, policies or correlation: request/reply matching, balancing
 * and retries live in the broker, the same for every transport.
 *
 * Implementations: in-process (no serialization), socket (Unix sockets on one
 * machine), NATS (many machines). All pass the conformance suite in `test/conformance`.
 */
export interface Transport {
  /** A short name for logs and status ('in-process', 'socket', 'nats'). */
  readonly kind: string
  /** Starts listening and discovery; resolves once this node can send and receive. */
  start(local: NodeInfo, handlers: TransportHandlers): Promise<void>
  /** Announces a change of this node's services to every peer. */
  announce(local: NodeInfo): void
  /**
   * Sends one message to one peer, in order with the previous ones to that peer.
   * Returns false when the peer is unknown or unreachable (the broker then answers
   * UNAVAILABLE). A message that cannot be encoded throws a TesseraError.
   */
  send(nodeId: string, message: Message): boolean
  /**
   * Optional. Durable events (at least once, stored), available once `start` resolved;
   * absent on transports that cannot store events (docs/events.md).
   */
  readonly durable?: DurableEvents | undefined
  /** Tells peers this node leaves, flushes what is queued, closes. Idempotent. */
  close(): Promise<void>
}
