import type { Socket } from 'node:net'
import { type Envelope, encodeEnvelope } from '../../codec/index.ts'
import type { Identity } from '../../identity/index.ts'
import { checkPeerProof, createNonce, mayHost, proveIdentity } from '../../identity/index.ts'
import type { Message, NodeInfo } from '../../wire/index.ts'
import type { Transport, TransportHandlers } from '../transport.ts'
import { Connection } from './connection.ts'
import { dialPeer } from './dial.ts'
import { Discovery } from './discovery.ts'
import type { PeerFile } from './discovery-files.ts'
import { type StoreEvents, storeClient } from './durable/index.ts'
import { startHeartbeat } from './heartbeat.ts'
import { type Listener, listen } from './listener.ts'
import { type ResolvedOptions, resolveOptions, type SocketTransportOptions } from './options.ts'
import { PeerTable } from './peer-table.ts'

export type SocketTransport = Transport & AsyncDisposable

/**
 * A transport for processes on one machine: each node listens on
 * `<dir>/<nodeId>.sock` (or TCP on 127.0.0.1, address in `<dir>/<nodeId>.json`),
 * dials every peer it finds in that directory and keeps one multiplexed connection
 * per pair. The wire format is in docs/protocol.md.
 *
 * - `start` rejects if the directory cannot be created, the socket path is too long, or
 *   a live node already uses this nodeId. It resolves once peers present at start have
 *   answered HELLO (or failed, or ~heartbeatTimeoutMs passed).
 * - `send` returns false when there is no connection to the peer; messages to one peer
 *   keep their order. Nothing queued is dropped under backpressure.
 * - A peer is reported gone once per loss: its socket closed (a killed process is noticed
 *   at once), it said BYE, or it stayed silent past `heartbeatTimeoutMs` (default 3 s).
 * - A peer breaking the protocol loses its connection (logged as a warning); others are unaffected.
 * - With `durable` (an event store, decision 0026) `durable` keeps durable events there;
 *   without it `durable` is undefined and the broker refuses durable emits.
 * - `close` sends BYE to every peer, flushes, stops listening and removes its discovery
 *   file; idempotent. No handler is called once `close` has begun.
 *
 * @example
 * const node = await createNode({ transport: socketTransport({ namespace: 'shop' }) })
 */
export function socketTransport(options: SocketTransportOptions = {}): SocketTransport {
  return new SocketTransportImpl(resolveOptions(options))
}

class SocketTransportImpl implements SocketTransport {
  readonly kind = 'socket'
  private local: NodeInfo | undefined
  private handlers: TransportHandlers | undefined
  private readonly conns = new Set<Connection>()
  private readonly dialing = new Map<string, Promise<void>>()
  private readonly dialSockets = new Set<Socket>()
  private readonly helloWaiters = new WeakMap<Connection, () => void>()
  private peers: PeerTable | undefined
  private listener: Listener | undefined
  private discovery: Discovery | undefined
  private stopHeartbeat: (() => void) | undefined
  private closing: Promise<void> | undefined
  /** Durable events through the event store, when one was given (connected on first use). */
  readonly durable: StoreEvents | undefined

  constructor(private readonly opts: ResolvedOptions) {
    this.durable = opts.durable && storeClient({ socketPath: opts.durable.socketPath, logger: opts.logger })
  }

  async start(local: NodeInfo, handlers: TransportHandlers): Promise<void> {
    if (this.local || this.closing) throw new Error('socket transport already started or closed')
    this.local = local
    this.handlers = handlers
    this.peers = new PeerTable(local.nodeId, () => this.handlers)
    try {
      this.listener = await listen(this.opts, local.nodeId, (socket) => this.accept(socket))
      this.stopHeartbeat = startHeartbeat({
        intervalMs: this.opts.heartbeatIntervalMs,
        timeoutMs: this.opts.heartbeatTimeoutMs,
        connections: () => this.conns,
      })
      this.discovery = new Discovery({
        dir: this.opts.dir,
        selfId: local.nodeId,
        rescanIntervalMs: this.opts.rescanIntervalMs,
        logger: this.opts.logger,
        onPeerFile: (peer) => this.dial(peer),
      })
      await this.discovery.start()
      await this.initialHandshakes()
    } catch (err) {
      await this.close()
      throw err
    }
  }

  announce(local: NodeInfo): void {
    this.local = local
    if (this.closing) return
    const body = encodeEnvelope({ kind: 'announce', info: withoutIdentity(local) })
    for (const conn of this.conns) if (conn.beforeProof === undefined) conn.sendEncoded(body)
  }

  send(nodeId: string, message: Message): boolean {
    const conn = this.peers?.connection(nodeId)
    return conn?.send(message) ?? false
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  private async shutdown(): Promise<void> {
    this.handlers = undefined
    this.durable?.close()
    this.discovery?.close()
    this.stopHeartbeat?.()
    for (const s of this.dialSockets) s.destroy()
    const listenerClosed = this.listener?.close()
    const bye: Envelope | undefined = this.local && { kind: 'bye', nodeId: this.local.nodeId }
    const ends = [...this.conns].map((conn) => {
      if (bye && conn.beforeProof === undefined) conn.send(bye)
      return conn.end('this node is closing')
    })
    await Promise.all([...ends, listenerClosed])
    this.peers?.clear()
  }

  /** Waits for the dials started by the first scan, bounded by the heartbeat timeout. */
  private async initialHandshakes(): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.opts.heartbeatTimeoutMs)
    })
    await Promise.race([Promise.all(this.dialing.values()), deadline])
    clearTimeout(timer)
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy()
      return
    }
    this.open(socket, false, undefined)
  }

  /** Dials a peer file unless that peer is connected or being dialled; never rejects. */
  private dial(peer: PeerFile): void {
    if (this.closing || this.peers?.has(peer.nodeId) || this.dialing.has(peer.nodeId)) return
    const attempt = this.attempt(peer).finally(() => this.dialing.delete(peer.nodeId))
    this.dialing.set(peer.nodeId, attempt)
  }

  private async attempt(peer: PeerFile): Promise<void> {
    const socket = await dialPeer(peer, {
      timeoutMs: this.opts.heartbeatTimeoutMs,
      logger: this.opts.logger,
      track: (s, connecting) => (connecting ? this.dialSockets.add(s) : this.dialSockets.delete(s)),
    })
    if (!socket) return
    if (this.closing) {
      socket.destroy()
      return
    }
    const conn = this.open(socket, true, peer.nodeId)
    await new Promise<void>((resolve) => this.helloWaiters.set(conn, resolve))
  }

  private open(socket: Socket, outbound: boolean, expectedId: string | undefined): Connection {
    const conn = new Connection({
      socket,
      outbound,
      ...(expectedId === undefined ? {} : { expectedId }),
      maxFrameBytes: this.opts.maxFrameBytes,
      endGraceMs: this.opts.heartbeatTimeoutMs,
      logger: this.opts.logger,
      events: {
        onEnvelope: (c, env) => this.onEnvelope(c, env),
        onPeerEnded: (c) => this.onPeerEnded(c),
        onClose: (c, why) => this.onClose(c, why),
      },
    })
    this.conns.add(conn)
    const credential = this.opts.credential
    if (credential) {
      conn.nonce = createNonce()
      conn.beforeProof = this.local!.seq
      conn.send({
        kind: 'hello',
        info: withoutIdentity(this.local!),
        auth: { certificate: credential.certificate, nonce: conn.nonce },
      })
    } else conn.send({ kind: 'hello', info: withoutIdentity(this.local!) })
    return conn
  }

  private onEnvelope(conn: Connection, env: Envelope): void {
    if (!conn.remote) {
      if (conn.unproven) this.onProof(conn, env)
      else this.onHello(conn, env)
      return
    }
    const from = conn.remote.nodeId
    switch (env.kind) {
      case 'request':
      case 'response':
      case 'event':
      case 'cancel':
        this.deliver(from, env)
        return
      case 'ping':
        conn.send({ kind: 'pong', n: env.n })
        return
      case 'pong':
        return
      case 'announce':
        if (env.info.nodeId !== from) conn.fail(`ANNOUNCE for ${env.info.nodeId} on ${from}'s connection`)
        else this.peers?.announce(this.vetted(env.info, conn.remote.identity))
        return
      case 'bye':
        if (env.nodeId !== from) conn.fail(`BYE for ${env.nodeId} on ${from}'s connection`)
        else {
          this.peers?.bye(from)
          void conn.end('peer said bye')
        }
        return
      case 'hello':
        conn.fail('second HELLO on one connection')
        return
      case 'proof':
        conn.fail('PROOF after the handshake')
        return
    }
  }

  private onHello(conn: Connection, env: Envelope): void {
    if (env.kind !== 'hello') {
      conn.fail(`expected HELLO as the first frame, got ${env.kind}`)
      return
    }
    const id = env.info.nodeId
    const credential = this.opts.credential
    if (id === this.local!.nodeId) conn.fail('peer claims this node’s own nodeId')
    else if (conn.expectedId !== undefined && id !== conn.expectedId)
      conn.fail(`dialled ${conn.expectedId} but HELLO came from ${id}`)
    else if (!credential) {
      conn.remote = env.info
      this.peers?.hello(conn, env.info)
    } else if (!env.auth) {
      this.refuse(conn, id, 'it presented no credential')
    } else {
      // Answer the peer's nonce at once; the peer is known only once its own PROOF checks out.
      conn.unproven = { info: env.info, certificate: env.auth.certificate }
      conn.send({ kind: 'proof', proof: proveIdentity(credential, env.auth.nonce, this.local!.nodeId, id) })
      // Services changed since our HELLO (a node adds its services right after joining):
      // the peer learns them now, in order after the PROOF.
      if (conn.beforeProof !== this.local!.seq)
        conn.send({ kind: 'announce', info: withoutIdentity(this.local!) })
      conn.beforeProof = undefined
      return
    }
    this.settle(conn)
  }

  private onProof(conn: Connection, env: Envelope): void {
    const { info, certificate } = conn.unproven!
    conn.unproven = undefined
    if (env.kind !== 'proof') {
      this.refuse(conn, info.nodeId, `it sent ${env.kind} before proving its identity`)
    } else {
      const checked = checkPeerProof(
        this.opts.credential!,
        { nodeId: info.nodeId, certificate, proof: env.proof },
        conn.nonce!,
      )
      if ('refused' in checked) this.refuse(conn, info.nodeId, checked.refused)
      else {
        conn.remote = this.vetted(info, checked.identity)
        this.peers?.hello(conn, conn.remote)
      }
    }
    this.settle(conn)
  }

  /** Logged as a warning on this side; the peer only sees its connection closed. */
  private refuse(conn: Connection, nodeId: string, why: string): void {
    this.opts.logger.warn({ peer: nodeId, why }, 'peer refused: no valid identity')
    conn.fail(`peer ${nodeId} refused: ${why}`)
  }

  /**
   * A peer's NodeInfo with its verified identity attached, and only the services that
   * identity may host: a node cannot draw another service's calls by announcing it.
   */
  private vetted(info: NodeInfo, identity: Identity | undefined): NodeInfo {
    if (!identity) return withoutIdentity(info)
    const services = info.services.filter((s) => mayHost(identity, s.name))
    if (services.length !== info.services.length) {
      const dropped = info.services.filter((s) => !mayHost(identity, s.name)).map((s) => s.name)
      this.opts.logger.warn(
        { peer: info.nodeId, unit: identity.unit, dropped },
        'peer announced services its identity does not allow',
      )
    }
    return { ...info, services, identity }
  }

  private deliver(from: string, message: Message): void {
    try {
      this.handlers?.onMessage(from, message)
    } catch (err) {
      // Handlers must not throw; if one does, the connection and its other messages are unaffected.
      this.opts.logger.error({ err, from }, 'transport handler threw')
    }
  }

  private onClose(conn: Connection, reason: string): void {
    this.conns.delete(conn)
    this.settle(conn)
    this.opts.logger.debug({ peer: conn.peerId, reason }, 'connection closed')
    this.peers?.lost(conn, reason)
  }

  /**
   * The peer ended its side of `conn` before this side did. If `conn` carries our traffic
   * to it and another connection from it is being set up, the peer dropped `conn` as a
   * duplicate: we keep sending here (it reads until we end) until that one is proven and
   * takes over. Otherwise the peer is closing or dead: the connection goes at once, so a
   * killed process is reported gone without waiting for the heartbeat.
   */
  private onPeerEnded(conn: Connection): void {
    if (conn.closing) return
    if (this.peers?.isActive(conn) && this.successorMayCome(conn)) return
    conn.destroy('connection closed by peer')
  }

  /**
   * Whether a connection other than `conn` may be its peer's replacement: not closing, and
   * from that peer or not yet known. When a peer drops a duplicate, the one it keeps has
   * already exchanged HELLOs with this node, so it is among `conns`.
   */
  private successorMayCome(conn: Connection): boolean {
    const id = conn.remote!.nodeId
    for (const other of this.conns) {
      if (other === conn || other.closing) continue
      const otherId = other.remote?.nodeId ?? other.unproven?.info.nodeId ?? other.expectedId
      if (otherId === undefined || otherId === id) return true
    }
    return false
  }

  /** A connection waiting for its successor whose candidates all closed or proved someone else goes. */
  private reviewPeerEnded(): void {
    for (const conn of this.conns) {
      if (conn.peerEnded && !conn.closing && !this.successorMayCome(conn)) {
        conn.destroy('connection closed by peer; no replacement came')
      }
    }
  }

  private settle(conn: Connection): void {
    this.helloWaiters.get(conn)?.()
    this.helloWaiters.delete(conn)
    if (!this.closing) this.reviewPeerEnded()
  }
}

/** What is sent of a NodeInfo: identity is the receiver's finding, never the sender's claim. */
function withoutIdentity(info: NodeInfo): NodeInfo {
  if (info.identity === undefined) return info
  const { identity: _, ...rest } = info
  return rest
}
