import type { Msg } from 'nats'
import { type AnnounceAuth, type ControlMessage, decodeEnvelope } from '../../codec/index.ts'
import { createNonce } from '../../identity/index.ts'
import type { Logger } from '../../observability/index.ts'
import type { NodeInfo } from '../../wire/index.ts'
import type { TransportHandlers } from '../transport.ts'
import { type Peer, PeerTable } from './peer-table.ts'
import type { PeerVetting, Sender } from './peer-vetting.ts'
import { Prober } from './prober.ts'
import { nodeIdOf, nodeToken, type Subjects, senderOf } from './subjects.ts'

/** The reason a peer is reported gone when the server found no subscriber for it (HMSG 503). */
export const NO_RESPONDERS = 'no responders'
/** What discovery needs from the transport around it. */
export interface DiscoveryDeps {
  subjects: Subjects
  handlers: TransportHandlers
  logger: Logger
  heartbeatMs: number
  peerTimeoutMs: number
  /** Mean time between probe rounds (prober.ts). */
  probeMs: number
  /** Publishes a probe to the peer: a PING on its node subject with its no-responders reply. */
  probe(peer: Peer): void
  /**
   * Asks a peer that answers liveness pings whether it is there (silence-watch.ts): gone
   * if its subscriptions are (503) or if nothing comes back within `answerMs`.
   */
  askAlive(peer: Peer): void
  /** Decides who becomes a peer (certificates, when this node holds a credential). */
  vetting: PeerVetting
  /** This node's certificate, sent with every HELLO and ANNOUNCE; undefined without a credential. */
  auth: AnnounceAuth | undefined
  /** This node's current info. */
  local(): NodeInfo
  /** Publishes a control message; logs instead of throwing (timers call it). */
  publish(subject: string, message: ControlMessage): void
  /** An unreachable peer was heard from again: what is held for it may go now. */
  reachable(nodeId: string): void
  /**
   * A reachable peer said HELLO again on the discovery subject: it reconnected (its
   * server went away), so what was in flight between us may be lost.
   */
  linkLost(nodeId: string, reason: string): void
}

/**
 * Who is out there, and who left. Protocol (docs/decisions/0003-nats-subjects.md, 0014):
 *
 * - on start and after every reconnect: HELLO with full info on the discovery subject;
 *   each peer answers with its ANNOUNCE sent directly to the newcomer's node subject
 * - on a change of services: ANNOUNCE on the discovery subject
 * - every `heartbeatMs`, only while some known peer did not announce PROBE_META (an
 *   older node that judges by silence): a light PING carrying the node's `seq`; a
 *   receiver that does not know that seq asks for the full info with a direct HELLO
 * - peers that announced PROBE_META are probed instead (prober.ts, decision 0023): a
 *   503 for a probe of a peer this node owns removes it and is told to everyone on the
 *   gone subject; a receiver of that hint probes the peer itself and believes only the
 *   server's 503, never the hint
 * - on close: BYE → peers report it gone at once
 * - a broadcast HELLO from a known, reachable peer: it reconnected, traffic in flight
 *   between us may be lost (linkLost); a peer unreachable since our own disconnect
 *   becomes reachable again when heard (any message)
 * - a peer silent for `peerTimeoutMs` (SIGKILL, network loss) → gone; a "no
 *   responders" status for a send to it → gone at once (its subscription vanished)
 *
 * Every message names its sender's unit and node in the subject; a node id is only ever
 * taken from the unit it was learnt under, and, with a credential, only learnt from an
 * announcement whose certificate names that node and unit (peer-vetting.ts).
 */
export class Discovery {
  readonly peers: PeerTable
  readonly #deps: DiscoveryDeps
  readonly #askedAt = new Map<string, number>()
  /** `<unit>.<node>` of this node, the rest of its own discovery subject. */
  readonly #ownSender: string
  readonly #sweepMs: number
  readonly #prober: Prober
  #timers: NodeJS.Timeout[] = []
  #lastSweep = Date.now()
  #skipped = false
  #connected = true
  /** "No responders" before this time are ignored: peers may still be reconnecting. */
  #quietUntil = 0

  constructor(deps: DiscoveryDeps) {
    this.#deps = deps
    this.peers = new PeerTable(deps.subjects)
    this.#ownSender = deps.subjects.ownDiscovery.slice(deps.subjects.discoveryPrefix.length)
    this.#sweepMs = Math.max(10, Math.floor(deps.heartbeatMs / 4))
    this.#prober = new Prober({
      peers: this.peers,
      me: deps.local().nodeId,
      probeMs: deps.probeMs,
      connected: () => this.#connected,
      probe: (peer) => deps.probe(peer),
    })
  }

  /** Says HELLO and starts heartbeats and the liveness sweep. */
  start(): void {
    this.#hello(this.#deps.subjects.ownDiscovery)
    this.#lastSweep = Date.now()
    this.#timers = [
      setInterval(() => this.#beat(), this.#deps.heartbeatMs),
      setInterval(() => this.#sweep(), this.#sweepMs),
    ]
    // The NATS socket keeps a serving process alive; the timers alone should not.
    for (const timer of this.#timers) timer.unref()
    this.#prober.start()
  }

  announce(): void {
    this.#deps.publish(this.#deps.subjects.ownDiscovery, this.#announcement())
  }

  /** Stops timers and says BYE (published before the connection drains). */
  stop(): void {
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers = []
    this.#prober.stop()
    this.#deps.publish(this.#deps.subjects.ownDiscovery, { kind: 'bye', nodeId: this.#deps.local().nodeId })
  }

  /**
   * Our connection dropped: peers are not judged while we cannot hear them, and all are
   * unreachable until heard again. Returns their ids.
   */
  disconnected(): string[] {
    this.#connected = false
    return this.peers.unreachAll()
  }

  /** A message from a known peer arrived: if it was unreachable, it is reachable again. */
  heard(peer: Peer): void {
    if (peer.reachable || !this.#connected) return
    peer.reachable = true
    guard(this.#deps.logger, () => this.#deps.reachable(peer.nodeId))
  }

  /**
   * Our connection is back (possibly a restarted server with no subscriptions of the
   * peers yet). Peers get a fresh `peerTimeoutMs` to reconnect and heartbeat, and
   * "no responders" is ignored for that long; then we say HELLO again.
   */
  reconnected(): void {
    const now = Date.now()
    this.#connected = true
    this.#quietUntil = now + this.#deps.peerTimeoutMs
    this.peers.touchAll(now)
    this.#hello(this.#deps.subjects.ownDiscovery)
  }

  /** A message on `tessera.<ns>.discovery.*.*`. Malformed ones are logged and dropped. */
  onDiscovery(msg: Msg): void {
    const rest = msg.subject.slice(this.#deps.subjects.discoveryPrefix.length)
    if (rest === this.#ownSender) return
    const sender = senderOf(rest)
    const message = sender === undefined ? undefined : this.#decode(msg, sender.nodeId)
    if (sender === undefined || message === undefined) return
    switch (message.kind) {
      case 'hello':
      case 'announce':
        this.onControl(sender, message, true)
        return
      case 'ping':
        this.#heartbeat(sender, message.n)
        return
      case 'bye':
        if (this.#known(sender) !== undefined) this.gone(sender.nodeId, 'said bye')
        return
      default:
        this.#deps.logger.warn(
          { from: sender.nodeId, kind: message.kind },
          'nats: dropped a non-discovery message on the discovery subject',
        )
    }
  }

  /** A HELLO or ANNOUNCE, broadcast or sent directly; a HELLO is answered directly. */
  onControl(sender: Sender, message: ControlMessage, broadcast = false): void {
    if (message.kind !== 'hello' && message.kind !== 'announce') return
    const from = sender.nodeId
    if (message.info.nodeId !== from || from === this.#deps.local().nodeId) {
      this.#deps.logger.warn(
        { from, claimed: message.info.nodeId },
        'nats: dropped an announcement for another node id',
      )
      return
    }
    const known = this.peers.get(from)
    if (known !== undefined && known.unit !== sender.unit) {
      this.#deps.vetting.refuse(sender, `node ${from} is known as unit ${known.unit}`)
      return
    }
    const info = this.#deps.vetting.vet(sender, message.info, message.auth)
    if (info === undefined) return
    let learned = this.peers.learn(info, sender.unit, Date.now())
    if (learned === 'older') {
      if (message.kind === 'announce') return
      // A HELLO with a lower seq is a new incarnation of the node: whatever was in
      // flight to the old one is lost.
      this.gone(from, 'restarted')
      learned = this.peers.learn(info, sender.unit, Date.now())
    }
    const peer = this.peers.get(from)
    // A broadcast HELLO of a node we already talk to: it is back from a reconnect of its
    // own. (One unreachable since our disconnect lost its traffic then already.)
    if (
      broadcast &&
      message.kind === 'hello' &&
      known !== undefined &&
      learned !== 'new' &&
      peer?.reachable
    ) {
      guard(this.#deps.logger, () => this.#deps.linkLost(from, 'the peer reconnected to NATS'))
    }
    // Answered before the broker hears of the peer, so our ANNOUNCE reaches it ahead of
    // any message the broker sends it.
    if (message.kind === 'hello') {
      this.#askedAt.delete(from)
      if (peer) this.#deps.publish(peer.subject, this.#announcement())
    }
    // After our answer, so it reaches the peer ahead of anything held for it.
    if (peer) this.heard(peer)
    if (learned !== 'same') this.#notify(info)
  }

  /** The peer a message under `sender` may come from: known, and under the same unit. */
  #known(sender: Sender): Peer | undefined {
    const peer = this.peers.get(sender.nodeId)
    if (peer === undefined || peer.unit === sender.unit) return peer
    this.#deps.vetting.refuse(sender, `node ${sender.nodeId} is known as unit ${peer.unit}`)
    return undefined
  }

  /**
   * The server said nobody subscribes to a peer's subject any more (HMSG 503). When the
   * peer is probed by this node (its share), everyone is told on the gone subject.
   */
  onNoResponders(msg: Msg): void {
    if (msg.headers?.code !== 503) return
    const from = nodeIdOf(msg.subject.slice(this.#deps.subjects.noRespondersPrefix.length))
    if (from === undefined || Date.now() < this.#quietUntil) return
    const peer = this.peers.get(from)
    if (peer === undefined) return
    this.gone(from, NO_RESPONDERS)
    if (peer.probed && this.#prober.owns(from)) {
      this.#deps.publish(this.#deps.subjects.ownGone, { kind: 'bye', nodeId: from })
    }
  }

  /**
   * A hint on `tessera.<ns>.gone.*.*`: its sender found `nodeId`'s subscriptions gone, or
   * found it silent (decision 0030). The hint is not believed: the peer is probed, or,
   * when it answers liveness pings, asked (which also gets the server's 503 if it is
   * gone), and only the server's 503 or its own silence removes it, so no node can evict
   * another by saying so. Malformed hints are logged and dropped.
   */
  onGone(msg: Msg): void {
    const rest = msg.subject.slice(this.#deps.subjects.gonePrefix.length)
    if (rest === this.#ownSender) return
    const sender = senderOf(rest)
    const message = sender === undefined ? undefined : this.#decode(msg, sender.nodeId)
    if (message?.kind !== 'bye') return
    const peer = this.peers.get(message.nodeId)
    if (!peer?.reachable || !this.#connected) return
    if (peer.answers) this.#deps.askAlive(peer)
    else this.#deps.probe(peer)
  }

  /** Removes the peer and tells the broker, once per departure. */
  gone(nodeId: string, reason: string): void {
    const peer = this.peers.get(nodeId)
    if (!this.peers.remove(nodeId)) return
    // A watcher left: its share is someone else's now, probed at once (it may have died
    // with the peers it watched, in one process).
    if (peer?.watches) this.#prober.soon()
    this.#deps.logger.info({ peer: nodeId, reason }, 'nats: peer gone')
    guard(this.#deps.logger, () => this.#deps.handlers.onPeerGone(nodeId, reason))
  }

  #heartbeat(sender: Sender, seq: number): void {
    const now = Date.now()
    const peer = this.peers.get(sender.nodeId)
    if (peer === undefined) {
      // A refused node keeps beating: it is not asked (and logged) again until it changes.
      if (!this.#deps.vetting.refusedLately(sender, now)) this.ask(sender)
      return
    }
    if (peer.unit !== sender.unit) {
      this.#known(sender)
      return
    }
    peer.lastSeen = now
    this.heard(peer)
    if (peer.seq < seq) this.ask(sender)
  }

  /**
   * Asks an unknown (or stale) peer for its info, at most once per heartbeat period,
   * by sending it our HELLO directly; it answers with its ANNOUNCE.
   */
  ask(sender: Sender): void {
    const now = Date.now()
    const key = `${sender.unit}.${sender.nodeId}`
    if (now - (this.#askedAt.get(key) ?? 0) < this.#deps.heartbeatMs) return
    this.#askedAt.set(key, now)
    this.#hello(this.#deps.subjects.toPeer(sender.unit, nodeToken(sender.nodeId)))
  }

  #hello(subject: string): void {
    const auth = this.#deps.auth
    const info = this.#deps.local()
    // The nonce only keeps HELLO in the one form every transport reads; nobody signs it here.
    this.#deps.publish(
      subject,
      auth ? { kind: 'hello', info, auth: { ...auth, nonce: createNonce() } } : { kind: 'hello', info },
    )
  }

  #announcement(): ControlMessage {
    const auth = this.#deps.auth
    const info = this.#deps.local()
    return auth ? { kind: 'announce', info, auth } : { kind: 'announce', info }
  }

  // Heartbeats only serve peers that judge by silence (nodes without PROBE_META), and a
  // node that knows nobody yet beats too: an older node, or one that refused it, hears
  // of it that way (and asks, §6.3).
  #beat(): void {
    if (this.#connected && (this.peers.size === 0 || this.#anyUnprobed())) {
      this.#deps.publish(this.#deps.subjects.ownDiscovery, { kind: 'ping', n: this.#deps.local().seq })
    }
  }

  #anyUnprobed(): boolean {
    for (const peer of this.peers.values()) if (!peer.probed) return true
    return false
  }

  // Runs 4× per heartbeat so a silent peer is reported within peerTimeoutMs plus a
  // quarter heartbeat (1.0–1.6 s after a SIGKILL with the defaults).
  #sweep(): void {
    const now = Date.now()
    const late = now - this.#lastSweep > 2 * this.#sweepMs
    this.#lastSweep = now
    if (!this.#connected) return
    // After our own event loop stalled, heartbeats may be waiting unread in the socket
    // (timers run before I/O): skip one round so they are read before anyone is judged.
    if (late && !this.#skipped) {
      this.#skipped = true
      return
    }
    this.#skipped = false
    const expired = this.peers.expire(now - this.#deps.peerTimeoutMs)
    if (expired.length > 0) this.#prober.soon()
    for (const nodeId of expired) {
      this.#deps.logger.info({ peer: nodeId }, 'nats: peer missed its heartbeats')
      guard(this.#deps.logger, () =>
        this.#deps.handlers.onPeerGone(nodeId, `no heartbeat for ${this.#deps.peerTimeoutMs} ms`),
      )
    }
    for (const [key, at] of this.#askedAt) {
      if (now - at > this.#deps.peerTimeoutMs) this.#askedAt.delete(key)
    }
    this.#deps.vetting.forget(now - this.#deps.peerTimeoutMs)
  }

  #notify(info: NodeInfo): void {
    this.#deps.logger.debug({ peer: info.nodeId, seq: info.seq }, 'nats: peer info')
    guard(this.#deps.logger, () => this.#deps.handlers.onPeer(info))
  }

  #decode(msg: Msg, from: string): ControlMessage | undefined {
    try {
      const message = decodeEnvelope(msg.data)
      if (isControl(message)) return message
      this.#deps.logger.warn(
        { from, kind: message.kind },
        'nats: dropped a broker message on the discovery subject',
      )
    } catch (err) {
      this.#deps.logger.warn(
        { from, err: (err as Error).message },
        'nats: dropped a malformed discovery message',
      )
    }
    return undefined
  }
}

function isControl(message: { kind: string }): message is ControlMessage {
  return (
    message.kind === 'hello' ||
    message.kind === 'announce' ||
    message.kind === 'bye' ||
    message.kind === 'ping' ||
    message.kind === 'pong'
  )
}

/** Runs a broker handler; one that throws is logged instead of breaking NATS's parser loop. */
export function guard(logger: Logger, fn: () => void): void {
  try {
    fn()
  } catch (err) {
    logger.error({ err }, 'nats: a transport handler threw (handlers must not throw)')
  }
}
