import { randomInt } from 'node:crypto'
import type { Msg, NatsConnection } from 'nats'
import { type ControlMessage, decodeEnvelope, encodeEnvelope } from '../../codec/index.ts'
import { TesseraError } from '../../errors/index.ts'
import { type Logger, silentLogger } from '../../observability/index.ts'
import type { Message, NodeInfo, RequestMessage } from '../../wire/index.ts'
import type { DurableEvents } from '../durable.ts'
import type { Transport, TransportHandlers } from '../transport.ts'
import { BATCH_MAX_ITEM, batchPayload, forEachEnvelopeAt } from './batch.ts'
import { openConnection } from './connect.ts'
import { watchConnection } from './connection-watch.ts'
import { Discovery, guard, NO_RESPONDERS } from './discovery.ts'
import { jetStreamEvents } from './durable-events.ts'
import { HeldMessages } from './held-messages.ts'
import { ONCE_META, OnceTable } from './once-table.ts'
import { type NatsTransportOptions, type ResolvedNatsOptions, resolveOptions } from './options.ts'
import { BATCH_META, type Peer } from './peer-table.ts'
import { PeerVetting, type Sender, withoutIdentity } from './peer-vetting.ts'
import { PROBE_META, WATCH_META } from './probe-share.ts'
import { Resends } from './resends.ts'
import { ANSWER_META, SilenceWatch } from './silence-watch.ts'
import { NO_UNIT, natsSubjects, nodeToken, type Subjects, senderOf } from './subjects.ts'

/**
 * A transport over NATS, for nodes on many machines. Each node subscribes to its own
 * subject; the broker picks the node and this transport only delivers to it (no queue
 * groups). Peers are found through a discovery subject; a peer is reported gone on BYE,
 * or when the server answers "no responders" for a send or a probe to it (each node
 * probes its share of the peers every `probeMs`, decision 0023), or, for a peer of an
 * older version that heartbeats, after `peerTimeoutMs` of silence, or when it falls
 * silent while this node awaits answers from it and does not answer a liveness ping
 * (`quietMs` + `answerMs`, silence-watch.ts: a frozen or partitioned peer whose
 * connection the server still holds). Survives server restarts by reconnecting.
 *
 * While the connection is down (nats.js drops what is published then) and after it is
 * back until each peer is heard again, messages are held here and sent in order once
 * the peer is heard; calls in flight when it dropped fail at once with UNAVAILABLE
 * (`onLinkLost`), a held request whose deadline nears fails as never delivered
 * (`onUndelivered`), and after `holdMs` without a connection every peer is reported
 * gone, so calls fail fast until the server is back and discovery finds the peers
 * again (docs/transports.md).
 *
 * With a `credential`, peers are known by their verified certificates and nodes without
 * one are ignored (decision 0014); sender authenticity then rests on per-unit NATS
 * permissions (`natsPermissions`), without which any client of the account could publish
 * under another node's id.
 *
 * `start` rejects with UNAUTHORIZED for refused credentials, FORBIDDEN when the server
 * refuses its subscriptions (a login with another unit's permissions), UNAVAILABLE when
 * no server answers, and BAD_REQUEST for a credential issued to another node id. `send` throws PAYLOAD_TOO_LARGE above the smaller of `maxPayload`
 * and the server's max_payload.
 *
 * @example
 * const transport = natsTransport({ servers: 'nats://127.0.0.1:4222', namespace: 'shop' })
 * const node = await createNode({ transport })
 */
export function natsTransport(options: NatsTransportOptions): Transport & AsyncDisposable {
  return new NatsTransport(resolveOptions(options), options.logger ?? silentLogger)
}

/** How long a peer reported gone for its silence is remembered, to be learnt again if it speaks. */
const SILENCED_KEPT_MS = 5 * 60_000
/** How long "asked because of a hint" holds: longer than an answer may take. */
const HINT_KEPT_MS = 10_000
/**
 * How long close() waits for nats.js's drain (flush, unsubscribe, the server's answer)
 * before closing the socket without it: well inside a pod's or the runtime's grace period.
 */
const DRAIN_BOUND_MS = 3000

class NatsTransport implements Transport, AsyncDisposable {
  readonly kind = 'nats'
  readonly #options: ResolvedNatsOptions
  readonly #logger: Logger
  #nc: NatsConnection | undefined
  #subjects: Subjects | undefined
  #handlers: TransportHandlers | undefined
  #discovery: Discovery | undefined
  #local: NodeInfo | undefined
  #maxPayload = Number.POSITIVE_INFINITY
  #closing: Promise<void> | undefined
  #starting = false
  /** Peers with messages queued this turn; all are published in one microtask. */
  #dirty: Peer[] = []
  #flushScheduled = false
  /** `#local` as announced on the wire (with BATCH_META), rebuilt when it changes. */
  #announced: { from: NodeInfo; info: NodeInfo } | undefined
  readonly #vetting: PeerVetting
  readonly #held: HeldMessages
  /** False between a 'disconnect' status and the next 'reconnect'. */
  #linkUp = true
  /** Reports every peer gone once the connection has been down for `holdMs`. */
  #holdTimer: NodeJS.Timeout | undefined
  #silence: SilenceWatch | undefined
  /**
   * Peers reported gone for their silence, by id, with when: one that speaks again was
   * alive after all (a stalled process), and is asked for its info to be learnt again.
   */
  readonly #silenced = new Map<string, number>()
  /** Peers asked because a gone hint named them, with when: found silent, they are not hinted again. */
  readonly #askedByHint = new Map<string, number>()
  /** This transport's incarnation token, announced as ONCE_META (decision 0033). */
  readonly #incarnation = randomInt(1, 2 ** 47)
  /** Callee side of at-most-once resends: outcomes of requests marked `once` run here. */
  readonly #once: OnceTable
  /** Caller side: requests sent `once` and not answered yet, to send again after a link loss. */
  readonly #resends: Resends
  /** Peers' incarnation tokens (ONCE_META), kept while their requests wait for them to come back. */
  readonly #incarnations = new Map<string, number>()

  constructor(options: ResolvedNatsOptions, logger: Logger) {
    this.#options = options
    this.#logger = logger.child({ transport: 'nats' })
    this.#vetting = new PeerVetting(options.credential, this.#logger)
    this.#held = new HeldMessages({
      maxBytes: options.holdBytes,
      now: Date.now,
      undelivered: (nodeId, id, reason) => this.#undelivered(nodeId, id, reason),
    })
    this.#once = new OnceTable({
      maxEntries: options.onceMaxEntries,
      maxBytes: options.onceMaxBytes,
      graceMs: 5000,
      now: Date.now,
    })
    this.#resends = new Resends({
      graceMs: options.resendGraceMs,
      lost: (nodeId, id, reason) => guard(this.#logger, () => this.#handlers?.onLost?.(nodeId, id, reason)),
    })
  }

  // A held message was given up unsent. A request that was sent before (and is held again
  // as a resend) may have run, so it is lost, not undelivered; one parked for its peer's
  // return stays parked (it is sent again from its entry).
  #undelivered(nodeId: string, id: number, reason: string): void {
    if (this.#resends.size > 0) {
      if (this.#resends.isParked(nodeId, id)) return
      const resent = this.#resends.wasResent(id)
      this.#resends.settle(nodeId, id)
      if (resent) {
        guard(this.#logger, () => this.#handlers?.onLost?.(nodeId, id, reason))
        return
      }
    }
    guard(this.#logger, () => this.#handlers?.onUndelivered?.(nodeId, id, reason))
  }

  #durable: DurableEvents | undefined

  /** JetStream durable events over this connection (durable-events.ts); undefined before `start`. */
  get durable(): DurableEvents | undefined {
    if (this.#nc === undefined || this.#subjects === undefined) return undefined
    this.#durable ??= jetStreamEvents({
      nc: this.#nc,
      namespace: this.#options.namespace,
      unit: this.#subjects.unit,
      logger: this.#logger,
    })
    return this.#durable
  }

  async start(local: NodeInfo, handlers: TransportHandlers): Promise<void> {
    if (this.#starting || this.#closing !== undefined) {
      throw new TesseraError('CONFLICT', 'natsTransport: start() may be called once, before close()')
    }
    this.#starting = true
    this.#local = local
    this.#handlers = handlers
    let nc: NatsConnection | undefined
    try {
      const credential = this.#options.credential
      if (credential && credential.identity.node !== local.nodeId) {
        throw new TesseraError(
          'BAD_REQUEST',
          `natsTransport: the credential was issued to node ${credential.identity.node}, not ${local.nodeId}`,
        )
      }
      const subjects = natsSubjects(this.#options.namespace, local.nodeId, this.#options.unit ?? NO_UNIT)
      nc = await openConnection(this.#options, this.#options.name ?? `tessera:${local.nodeId}`)
      if (this.#closing !== undefined)
        throw new TesseraError('UNAVAILABLE', 'natsTransport: closed while starting')
      await this.#listen(nc, subjects, handlers)
    } catch (err) {
      // Leave nothing open; a failed start may be retried.
      this.#starting = false
      this.#nc = undefined
      this.#discovery = undefined
      await nc?.close().catch(() => {})
      throw err
    }
    this.#logger.info({ nodeId: local.nodeId, server: nc.getServer() }, 'nats: started')
  }

  async #listen(nc: NatsConnection, subjects: Subjects, broker: TransportHandlers): Promise<void> {
    this.#subjects = subjects
    // What is held for a peer that is gone can never be sent: its calls were not delivered.
    // A peer gone by "no responders" (its server died) may be back in a moment: its
    // requests sent `once` wait for it (decision 0033) instead of failing.
    const handlers: TransportHandlers = {
      ...broker,
      onPeer: (info) => this.#learnt(broker, info),
      onPeerGone: (nodeId, reason) => {
        const token = this.#incarnations.get(nodeId)
        const waiting =
          reason === NO_RESPONDERS && token !== undefined && this.#options.resendGraceMs > 0
            ? this.#resends.park(nodeId, token)
            : undefined
        if (waiting !== undefined) {
          this.#logger.info(
            { peer: nodeId, requests: waiting.size, graceMs: this.#options.resendGraceMs },
            'nats: requests wait for a peer gone by no responders to come back',
          )
        }
        this.#held.drop(nodeId, reason)
        if (waiting === undefined) {
          this.#resends.forget(nodeId)
          this.#incarnations.delete(nodeId)
        }
        broker.onPeerGone(nodeId, reason, waiting)
      },
    }
    this.#maxPayload = Math.min(this.#options.maxPayload, nc.info?.max_payload ?? Number.POSITIVE_INFINITY)
    const discovery = new Discovery({
      subjects,
      handlers,
      logger: this.#logger,
      heartbeatMs: this.#options.heartbeatMs,
      peerTimeoutMs: this.#options.peerTimeoutMs,
      probeMs: this.#options.probeMs,
      probe: (peer) => this.#probe(peer),
      askAlive: (peer) => {
        this.#askedByHint.set(peer.nodeId, Date.now())
        this.#silence?.ask(peer)
      },
      vetting: this.#vetting,
      auth: this.#options.credential ? { certificate: this.#options.credential.certificate } : undefined,
      local: () => this.#announcedInfo(),
      publish: (subject, message) => this.#publishControl(subject, message),
      reachable: (nodeId) => this.#release(nodeId),
      linkLost: (nodeId, reason) => this.#linkLost(broker, nodeId, reason),
    })
    this.#nc = nc
    this.#discovery = discovery
    this.#silence = new SilenceWatch({
      peers: discovery.peers,
      tickMs: Math.max(10, Math.floor(this.#options.quietMs / 2)),
      quietMs: this.#options.quietMs,
      answerMs: this.#options.answerMs,
      connected: () => this.#linkUp,
      inFlight: (nodeId) => broker.inFlight?.(nodeId) ?? 0,
      ask: (peer, n) => this.#probe(peer, n),
      gone: (nodeId, reason) => this.#silent(nodeId, reason),
    })
    const refused: string[] = []
    const failed = (err: Error) => {
      refused.push(err.message)
      this.#logger.error({ err: err.message }, 'nats: subscription failed')
    }
    nc.subscribe(subjects.inbox, { callback: (err, msg) => (err ? failed(err) : this.#onInbox(msg)) })
    nc.subscribe(subjects.discovery, {
      callback: (err, msg) => (err ? failed(err) : discovery.onDiscovery(msg)),
    })
    nc.subscribe(subjects.gone, { callback: (err, msg) => (err ? failed(err) : discovery.onGone(msg)) })
    nc.subscribe(subjects.noResponders, {
      callback: (err, msg) => (err ? failed(err) : discovery.onNoResponders(msg)),
    })
    // Subscriptions are in place on the server before anyone learns about this node,
    // so the first message a peer sends us is not answered with "no responders".
    await nc.flush()
    if (this.#closing !== undefined)
      throw new TesseraError('UNAVAILABLE', 'natsTransport: closed while starting')
    // The server answers a refused SUB before the flush's PONG: a login whose permissions
    // are for another unit or namespace fails here instead of running deaf.
    if (refused.length > 0) {
      throw new TesseraError(
        'FORBIDDEN',
        `natsTransport: the NATS server refused this node's subscriptions as unit ${subjects.unit} in namespace ${this.#options.namespace} (${refused[0]}); is the login for another unit?`,
      )
    }
    watchConnection(nc, discovery, {
      logger: this.#logger,
      isClosing: () => this.#closing !== undefined,
      onPeerGone: (nodeId, reason) => handlers.onPeerGone(nodeId, reason),
      onDisconnect: () => this.#disconnected(broker),
      onReconnect: () => this.#reconnected(),
    })
    discovery.start()
    this.#silence.start()
  }

  announce(local: NodeInfo): void {
    this.#local = local
    this.#discovery?.announce()
  }

  send(nodeId: string, message: Message): boolean {
    const peer = this.#discovery?.peers.get(nodeId)
    let once: RequestMessage | undefined
    switch (message.kind) {
      case 'request':
        // A non-idempotent call to a peer that keeps outcomes: marked, and kept to be
        // sent again if the link is lost before its answer (decision 0033).
        if (message.once === undefined && peer?.resendable?.get(message.service)?.has(message.action)) {
          // A literal, not a spread: a spread's copy changes shape when `once` is added,
          // and the encoder's loads then miss their caches on every request.
          once = {
            kind: 'request',
            id: message.id,
            service: message.service,
            action: message.action,
            input: message.input,
            ctx: message.ctx,
            once: 1,
          }
          message = once
        }
        break
      case 'cancel':
        if (this.#resends.size > 0) this.#resends.settle(nodeId, message.id)
        break
      case 'response':
        // The answer to a request marked `once`: kept for its resends, even when the
        // caller cannot be reached right now (it will ask again).
        if (this.#once.awaits(nodeId, message.id)) {
          const bytes = this.#encode(message)
          this.#once.answered(nodeId, message.id, bytes)
          return peer !== undefined && this.#sendBytes(peer, message, bytes)
        }
        break
    }
    if (peer === undefined) return false
    const sent = this.#sendBytes(peer, message, this.#encode(message))
    if (once !== undefined && sent) this.#resends.track(nodeId, once)
    return sent
  }

  #encode(message: Message): Uint8Array {
    const bytes = encodeEnvelope(message)
    if (bytes.length > this.#maxPayload) {
      throw new TesseraError(
        'PAYLOAD_TOO_LARGE',
        `message of ${bytes.length} bytes exceeds the NATS limit of ${this.#maxPayload} bytes`,
        { size: bytes.length, limit: this.#maxPayload },
      )
    }
    return bytes
  }

  #sendBytes(peer: Peer, message: Message, bytes: Uint8Array): boolean {
    // Unreachable: held until the peer is heard again. Nothing is ever held for a
    // reachable peer on a live link (heard() releases synchronously, and a peer learnt
    // anew starts with nothing held), so order is kept without a lookup per send.
    if (!this.#linkUp || !peer.reachable) return this.#held.hold(peer.nodeId, message, bytes)
    return this.#enqueue(peer, bytes)
  }

  /**
   * What was on its way to or from `nodeId` may be lost. Calls in flight fail (the broker
   * retries idempotent ones elsewhere), except those sent `once`: they are sent again to
   * the same peer, as resends it runs at most once (held until it is heard, if need be).
   */
  #linkLost(broker: TransportHandlers, nodeId: string, reason: string): void {
    const resending = this.#resends.size > 0 ? this.#resends.idsFor(nodeId) : undefined
    guard(this.#logger, () => broker.onLinkLost?.(nodeId, reason, resending))
    if (resending !== undefined) this.#resend(nodeId, this.#resends.resendsFor(nodeId), reason)
  }

  #resend(nodeId: string, requests: RequestMessage[], reason: string): void {
    if (requests.length === 0) return
    // Info, not debug: it happens once per link loss with calls in flight, and says why a call took longer.
    this.#logger.info({ peer: nodeId, requests: requests.length, reason }, 'nats: sending requests again')
    for (const request of requests) {
      let sent = false
      try {
        sent = this.send(nodeId, request)
      } catch {
        // It was encoded and sent before; a refusal now (a smaller max_payload) ends it.
      }
      if (!sent) {
        this.#resends.settle(nodeId, request.id)
        guard(this.#logger, () =>
          this.#handlers?.onLost?.(nodeId, request.id, `${reason}; could not send it again`),
        )
      }
    }
  }

  // A peer learnt or re-announced: the broker hears first; then requests that waited for
  // this node to come back go again if it is the same process (same incarnation token).
  #learnt(broker: TransportHandlers, info: NodeInfo): void {
    const token = info.meta?.[ONCE_META]
    const incarnation = typeof token === 'number' && token > 0 ? token : 0
    if (incarnation > 0) this.#incarnations.set(info.nodeId, incarnation)
    else this.#incarnations.delete(info.nodeId)
    broker.onPeer(info)
    if (this.#resends.size > 0) {
      this.#resend(info.nodeId, this.#resends.unpark(info.nodeId, incarnation), 'the node came back')
    }
  }

  // A request marked `once` arrived: true when it is to run; else it was answered here
  // (a resend of one running: nothing; of one finished: its stored answer; of one whose
  // record may be gone: "outcome unknown").
  #admit(sender: Sender, request: RequestMessage): boolean {
    const from = sender.nodeId
    const peer = this.#discovery!.peers.get(from)
    const incarnation = peer === undefined || peer.once === 0 ? undefined : peer.once
    const arrival = this.#once.arrive(from, request.id, request.ctx.timeout, incarnation)
    switch (arrival.type) {
      case 'run':
        return true
      case 'running':
        return false
      case 'answered':
        if (peer !== undefined)
          this.#sendBytes(peer, { kind: 'response', id: request.id, ok: true, output: null }, arrival.bytes)
        return false
      case 'unknown': {
        const error = new TesseraError(
          'UNAVAILABLE',
          `${request.service}.${request.action}: the outcome is unknown (a resend of a call whose record here was evicted; it may have run)`,
          { outcome: 'unknown' },
        )
        this.send(from, { kind: 'response', id: request.id, ok: false, error: error.toWire(false) })
        return false
      }
    }
  }

  #enqueue(peer: Peer, bytes: Uint8Array): boolean {
    if (!peer.batches || bytes.length >= BATCH_MAX_ITEM) {
      if (peer.queued.length > 0) this.#flushPeer(peer)
      return this.#publish(peer, bytes)
    }
    const nc = this.#nc!
    // What publish would throw on; queued messages are published a microtask later.
    if (nc.isClosed() || nc.isDraining()) return false
    if (1 + peer.queuedBytes + 4 + bytes.length > this.#maxPayload) this.#flushPeer(peer)
    if (peer.queued.length === 0) this.#dirty.push(peer)
    peer.queued.push(bytes)
    peer.queuedBytes += 4 + bytes.length
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      queueMicrotask(this.#flushAll)
    }
    return true
  }

  // Runs once per turn in which anything was queued: one NATS message per peer (and
  // nats.js writes them all to the socket in one write, in its own next microtask).
  readonly #flushAll = (): void => {
    this.#flushScheduled = false
    const dirty = this.#dirty
    if (dirty.length === 0) return
    this.#dirty = []
    for (const peer of dirty) this.#flushPeer(peer)
  }

  #flushPeer(peer: Peer): void {
    if (peer.queued.length === 0) return
    const payload = batchPayload(peer.queued, peer.queuedBytes)
    peer.queued = []
    peer.queuedBytes = 0
    this.#publish(peer, payload)
  }

  /** The peer was heard again: what is held for it goes out now, in order. */
  #release(nodeId: string): void {
    const peer = this.#discovery?.peers.get(nodeId)
    if (peer === undefined) {
      this.#held.drop(nodeId, 'the peer is gone')
      return
    }
    const held = this.#held.take(nodeId)
    if (held.length === 0) return
    this.#logger.debug({ peer: nodeId, messages: held.length }, 'nats: sending what was held')
    for (const bytes of held) this.#enqueue(peer, bytes)
  }

  // The connection dropped. nats.js discards whatever is published until it is back
  // (it has no reconnect buffer), and what was on its way may have died with the
  // server: calls in flight to every peer fail now instead of at their deadline.
  #disconnected(broker: TransportHandlers): void {
    this.#linkUp = false
    for (const peer of this.#dirty) {
      peer.queued = []
      peer.queuedBytes = 0
    }
    this.#dirty = []
    for (const nodeId of this.#discovery!.disconnected()) {
      this.#linkLost(broker, nodeId, 'the NATS connection dropped')
    }
    clearTimeout(this.#holdTimer)
    this.#holdTimer = setTimeout(() => this.#giveUpPeers(), this.#options.holdMs)
    this.#holdTimer.unref()
  }

  #reconnected(): void {
    this.#linkUp = true
    clearTimeout(this.#holdTimer)
    this.#holdTimer = undefined
  }

  // Down for holdMs: every peer is reported gone (held requests fail as undelivered), so
  // calls fail fast with UNAVAILABLE until the server is back and discovery refills.
  #giveUpPeers(): void {
    this.#holdTimer = undefined
    if (this.#linkUp || this.#closing !== undefined) return
    this.#logger.warn({ holdMs: this.#options.holdMs }, 'nats: still disconnected, reporting every peer gone')
    this.#held.dropAll(`no NATS connection for ${this.#options.holdMs} ms`)
    this.#resends.clear()
    this.#incarnations.clear()
    for (const nodeId of this.#discovery!.peers.clear()) {
      guard(this.#logger, () => this.#handlers!.onPeerGone(nodeId, 'no NATS connection'))
    }
  }

  #publish(peer: Peer, payload: Uint8Array): boolean {
    try {
      // The reply subject lets the server answer "no responders" when the peer is gone.
      this.#nc!.publish(peer.subject, payload, peer.publishOptions)
      return true
    } catch (err) {
      // Closed or draining: this node is leaving, the peer is unreachable from here.
      this.#logger.debug({ peer: peer.nodeId, err: (err as Error).message }, 'nats: send failed')
      return false
    }
  }

  // A PING with this node's seq on the peer's node subject: a live peer ignores it, a
  // gone one makes the server answer 503 on the reply subject (decision 0023). With a
  // negative `n` (the silence watch's), a live peer that announced ANSWER_META answers a
  // PONG of that `n` (decision 0030); a gone one still makes the server answer 503.
  #probe(peer: Peer, n = this.#local!.seq): void {
    const nc = this.#nc
    if (nc === undefined || nc.isClosed() || nc.isDraining()) return
    try {
      nc.publish(peer.subject, encodeEnvelope({ kind: 'ping', n }), peer.publishOptions)
    } catch (err) {
      this.#logger.debug({ peer: peer.nodeId, err: (err as Error).message }, 'nats: probe failed')
    }
  }

  // A liveness ping from `sender`: answered at once from the event loop, whatever the
  // handlers are doing, on the sender's node subject (allowed by every unit's permissions).
  #answer(sender: Sender, n: number): void {
    const nc = this.#nc
    if (!this.#linkUp || nc === undefined || nc.isClosed() || nc.isDraining()) return
    const subject =
      this.#discovery!.peers.get(sender.nodeId)?.subject ??
      this.#subjects!.toPeer(sender.unit, nodeToken(sender.nodeId))
    try {
      nc.publish(subject, encodeEnvelope({ kind: 'pong', n }))
    } catch (err) {
      this.#logger.debug({ peer: sender.nodeId, err: (err as Error).message }, 'nats: pong failed')
    }
  }

  // The silence watch found a peer silent: gone, remembered a while in case it was only
  // stalled and speaks again, and hinted to everyone on the gone subject (each asks it
  // itself, decision 0030), so callers that are not calling it drop it before they do.
  // Not hinted again by a node that only asked it because of someone's hint.
  #silent(nodeId: string, reason: string): void {
    const now = Date.now()
    for (const [id, at] of this.#silenced) if (now - at > SILENCED_KEPT_MS) this.#silenced.delete(id)
    for (const [id, at] of this.#askedByHint) if (now - at > HINT_KEPT_MS) this.#askedByHint.delete(id)
    this.#silenced.set(nodeId, now)
    this.#logger.warn({ peer: nodeId, reason }, 'nats: peer silent, reporting it gone')
    this.#discovery!.gone(nodeId, reason)
    if (!this.#askedByHint.delete(nodeId)) {
      this.#publishControl(this.#subjects!.ownGone, { kind: 'bye', nodeId })
    }
  }

  // A message from a peer reported gone for its silence: it was alive after all (a
  // stall longer than answerMs). Asked for its info (a direct HELLO), it is learnt again
  // from its ANNOUNCE, vetted as any.
  #spokeAgain(sender: Sender): void {
    this.#silenced.delete(sender.nodeId)
    this.#logger.info({ peer: sender.nodeId }, 'nats: a peer reported silent spoke again, asking it')
    this.#discovery!.ask(sender)
  }

  #announcedInfo(): NodeInfo {
    const local = this.#local!
    if (this.#announced?.from !== local) {
      const info = withoutIdentity(local)
      const meta = {
        ...info.meta,
        [BATCH_META]: 1,
        [PROBE_META]: 1,
        [WATCH_META]: 1,
        [ANSWER_META]: 1,
        [ONCE_META]: this.#incarnation,
      }
      this.#announced = { from: local, info: { ...info, meta } }
    }
    return this.#announced.info
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  async #shutdown(): Promise<void> {
    const nc = this.#nc
    if (nc === undefined || nc.isClosed()) return
    // Queued messages and then BYE go out before drain: drain unsubscribes, delivers what
    // already arrived, flushes everything published (BYE included) and closes the socket.
    this.#flushAll()
    clearTimeout(this.#holdTimer)
    this.#held.stop()
    this.#held.dropAll('the transport closed')
    this.#resends.clear()
    this.#once.clear()
    this.#silence?.stop()
    this.#discovery?.stop()
    // drain() waits for the server's answer to its flush; with the network gone (a pod whose
    // network went first, a host cut off) nats.js would keep reconnecting and the drain
    // would never end, so it is bounded and the socket then closed without it.
    let bound: ReturnType<typeof setTimeout> | undefined
    const timedOut = new Promise<'timeout'>((resolve) => {
      bound = setTimeout(() => resolve('timeout'), DRAIN_BOUND_MS)
    })
    try {
      const how = await Promise.race([nc.drain().then(() => 'drained' as const), timedOut])
      if (how === 'timeout') {
        this.#logger.warn(
          { afterMs: DRAIN_BOUND_MS },
          'nats: drain did not finish (server unreachable?), closing',
        )
        await nc.close().catch(() => {})
      }
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'nats: drain failed, closing')
      await nc.close().catch(() => {})
    } finally {
      clearTimeout(bound)
    }
    this.#discovery?.peers.clear()
    this.#logger.info({}, 'nats: closed')
  }

  // The hot path of receiving: one slice for the sender and one peer lookup per NATS
  // message, then one decode and one handler call per envelope in it.
  #onInbox(msg: Msg): void {
    const sender = senderOf(msg.subject.slice(this.#subjects!.inboxPrefix.length))
    if (sender === undefined) {
      this.#logger.warn({ subject: msg.subject }, 'nats: dropped a message with a bad sender token')
      return
    }
    // A known node id under another unit: a client of that unit posing as the node.
    const peer = this.#discovery!.peers.get(sender.nodeId)
    if (peer !== undefined && peer.unit !== sender.unit) {
      this.#vetting.refuse(sender, `node ${sender.nodeId} is known as unit ${peer.unit}`)
      return
    }
    if (peer !== undefined) {
      // Read by the silence watch: anything at all from the peer proves it is there.
      peer.heard = true
      if (!peer.reachable) this.#discovery!.heard(peer)
    } else if (this.#silenced.size > 0 && this.#silenced.has(sender.nodeId)) this.#spokeAgain(sender)
    if (!forEachEnvelopeAt(msg.data, (data, start, end) => this.#deliver(sender, data, start, end))) {
      this.#logger.warn({ from: sender.nodeId }, 'nats: dropped the malformed rest of a batch')
    }
  }

  // Decodes bytes `start` to `end` of the NATS message in place (no view per envelope).
  #deliver(sender: Sender, data: Uint8Array, start: number, end: number): void {
    const from = sender.nodeId
    let message: ReturnType<typeof decodeEnvelope>
    try {
      message = decodeEnvelope(data, start, end)
    } catch (err) {
      this.#logger.warn({ from, err: (err as Error).message }, 'nats: dropped a malformed message')
      return
    }
    // At-most-once bookkeeping (decision 0033): a request marked `once` may be a resend
    // answered here; an answer ends the caller's resend entry.
    if (message.kind === 'request') {
      if (message.once !== undefined && !this.#admit(sender, message)) return
    } else if (message.kind === 'response' && this.#resends.size > 0) this.#resends.settle(from, message.id)
    switch (message.kind) {
      case 'request':
      case 'response':
      case 'event':
      case 'cancel':
        // Inline rather than guard(): no closure per message on the hot path.
        try {
          this.#handlers!.onMessage(from, message)
        } catch (err) {
          this.#logger.error({ err }, 'nats: onMessage threw (handlers must not throw)')
        }
        return
      case 'ping':
        // A probe (n ≥ 0) is ignored; a liveness ping (n < 0) is answered.
        if (message.n < 0) this.#answer(sender, message.n)
        return
      case 'pong':
        return // its arrival was the answer (`peer.heard`, above)
      default:
        this.#discovery!.onControl(sender, message)
    }
  }

  #publishControl(subject: string, message: ControlMessage): void {
    const nc = this.#nc
    if (nc === undefined || nc.isClosed() || nc.isDraining()) return
    try {
      nc.publish(subject, encodeEnvelope(message))
    } catch (err) {
      this.#logger.warn({ kind: message.kind, err: (err as Error).message }, 'nats: control publish failed')
    }
  }
}
