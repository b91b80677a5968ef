import type { NodeInfo } from '../../wire/index.ts'
import type { TransportHandlers } from '../transport.ts'
import type { Connection } from './connection.ts'

interface Peer {
  info: NodeInfo
  conn: Connection
}

/**
 * Which connection carries traffic to each peer, and the onPeer / onPeerGone events.
 *
 * Two nodes that discover each other at the same moment dial each other, so a pair can
 * briefly have two connections. Both ends keep the one dialled by the lower nodeId
 * (plain string comparison), which they decide alike without talking; the other is
 * ended gracefully, so frames already sent on it are still delivered (their order
 * relative to the survivor is not guaranteed in that moment only). A second connection
 * dialled by the same side means the old one is dead to the dialler (restart, or its
 * heartbeat gave up): the new one replaces it and the peer is reported gone, then back.
 *
 * Nothing sent is lost in the switch. Sockets are half-open: the end that drops a
 * connection ends its side (FIN) but reads on until the other end, having made the same
 * choice, ends too; meanwhile the other end keeps sending on it (see the transport's
 * `onPeerEnded`). Only when a connection that carried traffic closes uncleanly (reset, or
 * cut off before the peer ended it) may frames on it be unread: then the peer is reported
 * gone and back, so the calls waiting on it fail over instead of hanging to their deadline.
 */
export class PeerTable {
  private readonly peers = new Map<string, Peer>()

  constructor(
    private readonly localId: string,
    private readonly handlers: () => TransportHandlers | undefined,
  ) {}

  /** The connection carrying traffic to `nodeId`, if any. */
  connection(nodeId: string): Connection | undefined {
    return this.peers.get(nodeId)?.conn
  }

  has(nodeId: string): boolean {
    return this.peers.has(nodeId)
  }

  /** A HELLO arrived on `conn` (whose `remote` is set). Ends the connection that loses a duplicate. */
  hello(conn: Connection, info: NodeInfo): void {
    const peer = this.peers.get(info.nodeId)
    if (!peer) {
      conn.carried = true
      this.peers.set(info.nodeId, { info, conn })
      this.handlers()?.onPeer(info)
      return
    }
    const old = peer.conn
    if (this.initiator(old) === this.initiator(conn)) {
      conn.carried = true
      this.peers.set(info.nodeId, { info, conn })
      void old.end('replaced by a newer connection')
      this.handlers()?.onPeerGone(info.nodeId, 'replaced by a newer connection')
      this.handlers()?.onPeer(info)
      return
    }
    const keepNew = this.initiator(conn) < this.initiator(old)
    if (keepNew) {
      conn.carried = true
      peer.conn = conn
    }
    void (keepNew ? old : conn).end('duplicate connection')
    this.announce(info)
  }

  /** A newer NodeInfo of a known peer (ANNOUNCE, or HELLO on a duplicate); older seqs are ignored. */
  announce(info: NodeInfo): void {
    const peer = this.peers.get(info.nodeId)
    if (!peer || info.seq <= peer.info.seq) return
    peer.info = info
    this.handlers()?.onPeer(info)
  }

  /** The peer said BYE on any of its connections: it is gone, and its active connection is ended. */
  bye(nodeId: string): void {
    const peer = this.peers.get(nodeId)
    if (!peer) return
    this.peers.delete(nodeId)
    void peer.conn.end('peer said bye')
    this.handlers()?.onPeerGone(nodeId, 'peer left (bye)')
  }

  /** Whether `conn` is the one carrying traffic to its peer now. */
  isActive(conn: Connection): boolean {
    const id = conn.remote?.nodeId
    return id !== undefined && this.peers.get(id)?.conn === conn
  }

  /**
   * `conn` closed. If it carried the peer's traffic now, the peer is gone (reported once).
   * If it did earlier and closed uncleanly, frames sent on it may be lost: gone, then back.
   */
  lost(conn: Connection, reason: string): void {
    const id = conn.remote?.nodeId
    if (id === undefined) return
    const peer = this.peers.get(id)
    if (!peer) return
    if (peer.conn === conn) {
      this.peers.delete(id)
      this.handlers()?.onPeerGone(id, reason)
    } else if (conn.carried && (conn.errored || !conn.peerEnded)) {
      this.handlers()?.onPeerGone(
        id,
        `an earlier connection was lost with frames possibly unread (${reason})`,
      )
      this.handlers()?.onPeer(peer.info)
    }
  }

  /** Forgets every peer without events (this node is closing). */
  clear(): void {
    this.peers.clear()
  }

  private initiator(conn: Connection): string {
    return conn.outbound ? this.localId : conn.remote!.nodeId
  }
}
