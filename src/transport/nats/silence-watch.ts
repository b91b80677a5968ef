import type { Peer, PeerTable } from './peer-table.ts'

/**
 * `NodeInfo.meta` key: "a PING with a negative `n` on my node subject is answered with a
 * PONG of the same `n` on the asker's node subject" (decision 0030). Only peers that
 * announce it are asked; an older peer would drop the ping and look dead.
 */
export const ANSWER_META = 'tessera.nats.answers'

/** What the silence watch needs from the transport around it. */
export interface SilenceWatchDeps {
  peers: PeerTable
  /** Time between looks at the peers. */
  tickMs: number
  /** A peer owing answers (calls in flight) and silent this long is asked whether it is there. */
  quietMs: number
  /** An asked peer that sends nothing back (no pong, nothing else) within this is reported gone. */
  answerMs: number
  /** False while this node's own connection is down: nobody is judged then. */
  connected(): boolean
  /** Calls this node awaits answers to from `nodeId` (the broker's count; 0 when unknown). */
  inFlight(nodeId: string): number
  /** Publishes a liveness ping (PING with negative `n`) to the peer. */
  ask(peer: Peer, n: number): void
  /** Reports the peer gone (discovery removes it and tells the broker, which fails its calls). */
  gone(nodeId: string, reason: string): void
  now?: () => number
}

/**
 * Finds peers that stopped answering while this node waits for them: a process frozen or
 * cut off by a partition whose NATS connection the server still holds (until its
 * `ping_interval` finds it stale, minutes by default), so probes never get a 503 and its
 * calls would hang to their deadlines (decision 0030).
 *
 * A peer is judged only while the broker has calls in flight to it. Once such a peer has
 * been silent (no message of any kind) for `quietMs`, it gets one liveness ping; a live
 * peer answers from its event loop, whatever its handlers are doing. Nothing heard within
 * `answerMs` more: the peer is reported gone, and the broker fails its calls in flight with
 * UNAVAILABLE (the retry policy retries idempotent ones on another instance). So a silent
 * peer leaves within `quietMs + answerMs` plus up to two ticks (1.25–1.75 s by default).
 *
 * A peer named by a gone hint (another node found it silent) is asked at once with `ask`,
 * owed anything or not, and judged the same way: the hint itself is never believed.
 *
 * Costs nothing at rest (no calls in flight, nothing sent) and nothing under load to peers
 * that answer (their answers are heard); a peer running only slow calls gets one ping and
 * one pong per `quietMs` until they end. An event-loop stall of this node is not blamed on
 * peers: after a late tick nobody is judged until the next one, so answers waiting unread
 * in the socket are read first. A peer whose own loop stalls longer than `answerMs` while
 * it has calls of ours is reported gone although alive; its in-flight calls fail (and may
 * have run), and it is learnt again as soon as it sends anything (nats-transport.ts).
 */
export class SilenceWatch {
  readonly #deps: SilenceWatchDeps
  readonly #now: () => number
  #timer: NodeJS.Timeout | undefined
  #last = 0
  #n = 0

  constructor(deps: SilenceWatchDeps) {
    this.#deps = deps
    this.#now = deps.now ?? Date.now
  }

  start(): void {
    this.#last = this.#now()
    this.#timer = setInterval(() => this.tick(), this.#deps.tickMs)
    // The NATS socket keeps a serving process alive; this timer alone should not.
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /**
   * Asks `peer` now whether it is there (a gone hint named it): judged like a silent peer
   * with calls in flight, whether or not this node awaits anything from it. Nothing if it
   * was asked already and has not answered yet.
   */
  ask(peer: Peer): void {
    if (!peer.answers || peer.askedAt !== 0 || !this.#deps.connected()) return
    // Only what arrives after the ping answers it.
    peer.heard = false
    this.#ping(peer, this.#now())
  }

  #ping(peer: Peer, now: number): void {
    peer.askedAt = now
    this.#n = this.#n >= 2 ** 31 ? 1 : this.#n + 1
    this.#deps.ask(peer, -this.#n)
  }

  /** One look at every peer that answers pings; returns the ids reported gone. */
  tick(): string[] {
    const d = this.#deps
    const now = this.#now()
    const late = now - this.#last > 2 * d.tickMs
    this.#last = now
    if (!d.connected()) return []
    let silent: Peer[] | undefined
    for (const peer of d.peers.values()) {
      if (!peer.answers || !peer.reachable) continue
      if (peer.heard) {
        peer.heard = false
        peer.quietSince = now
        peer.askedAt = 0
      } else if (peer.askedAt === 0) {
        // Nothing owed: silence means nothing. Counted again from the first tick with calls.
        if (d.inFlight(peer.nodeId) === 0) peer.quietSince = now
        else if (now - peer.quietSince >= d.quietMs) this.#ping(peer, now)
      } else if (!late && now - peer.askedAt >= d.answerMs) {
        silent ??= []
        silent.push(peer)
      }
    }
    if (silent === undefined) return []
    for (const peer of silent) {
      const unanswered = `no answer to a ping in ${now - peer.askedAt} ms`
      d.gone(
        peer.nodeId,
        d.inFlight(peer.nodeId) > 0
          ? `silent for ${now - peer.quietSince} ms with calls in flight, ${unanswered}`
          : unanswered,
      )
    }
    return silent.map((p) => p.nodeId)
  }
}
