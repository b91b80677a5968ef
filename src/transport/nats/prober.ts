import type { Peer, PeerTable } from './peer-table.ts'
import { jittered, ownerOf } from './probe-share.ts'

/** What the prober needs from discovery. */
export interface ProberDeps {
  peers: PeerTable
  /** This node's id: it is one of the watchers. */
  me: string
  /** Mean time between rounds; each round is jittered by ±10%. */
  probeMs: number
  /** False while this node's own connection is down: nothing is probed then. */
  connected(): boolean
  /** Publishes one probe (a PING to the peer's node subject, with its no-responders reply). */
  probe(peer: Peer): void
}

/**
 * Probes this node's share of the probed peers every `probeMs` (probe-share.ts). A probe
 * to a live peer is one message it ignores; to a peer whose connection is gone the
 * server answers 503 on the reply subject and discovery reports the peer gone. When a
 * watcher leaves, the shares move at once (`soon`), so the peers it watched — often in
 * the same crashed process — are probed without waiting a round.
 */
export class Prober {
  readonly #deps: ProberDeps
  #timer: NodeJS.Timeout | undefined
  #soon = false
  #stopped = true
  /** The watchers (sorted) as of the last round; `owns` answers from it. */
  #watchers: string[] = []

  constructor(deps: ProberDeps) {
    this.#deps = deps
  }

  start(): void {
    this.#stopped = false
    this.#schedule()
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Whether this node probes `nodeId` (per the watchers known at the last round, or now before the first). */
  owns(nodeId: string): boolean {
    if (this.#watchers.length === 0) this.#refresh()
    return ownerOf(nodeId, this.#watchers) === this.#deps.me
  }

  /** A round as soon as the current turn ends (several calls in one turn: one round). */
  soon(): void {
    if (this.#soon || this.#stopped) return
    this.#soon = true
    setImmediate(() => {
      this.#soon = false
      if (!this.#stopped) this.round()
    })
  }

  /** Probes every probed peer this node owns now; returns how many. */
  round(): number {
    const watchers = this.#refresh()
    if (!this.#deps.connected()) return 0
    let sent = 0
    for (const peer of this.#deps.peers.values()) {
      if (!peer.probed || !peer.reachable) continue
      if (ownerOf(peer.nodeId, watchers) !== this.#deps.me) continue
      this.#deps.probe(peer)
      sent++
    }
    return sent
  }

  #refresh(): string[] {
    const watchers = [this.#deps.me]
    for (const peer of this.#deps.peers.values()) if (peer.watches) watchers.push(peer.nodeId)
    watchers.sort()
    this.#watchers = watchers
    return watchers
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      if (this.#stopped) return
      this.round()
      this.#schedule()
    }, jittered(this.#deps.probeMs))
    // The NATS socket keeps a serving process alive; this timer alone should not.
    this.#timer.unref()
  }
}
