import type { Identity } from '../../identity/index.ts'
import type { NodeInfo } from '../../wire/index.ts'
import type { BatchTarget } from './batch.ts'
import { ONCE_META } from './once-table.ts'
import { PROBE_META, WATCH_META } from './probe-share.ts'
import { ANSWER_META } from './silence-watch.ts'
import { nodeToken, type Subjects } from './subjects.ts'

/**
 * The `NodeInfo.meta` key by which a node tells its NATS peers that it reads batches
 * (batch.ts). Messages to a peer without it go one per NATS message, so nodes of an
 * older version keep working beside newer ones (e.g. during a rolling deploy).
 */
export const BATCH_META = 'tessera.nats.batch'

/** What the transport keeps per peer: precomputed publish arguments and liveness. */
export interface Peer extends BatchTarget {
  readonly nodeId: string
  /**
   * The unit token the peer was learnt under. Every later message claiming its node id
   * must come with the same unit token: with per-unit NATS permissions, another unit's
   * client cannot publish under it (decision 0014).
   */
  readonly unit: string
  /** What its verified certificate says, when this node holds a credential. */
  identity: Identity | undefined
  /** `tessera.<ns>.node.<unit>.<peer>.<myUnit>.<me>`, built once so `send` does no string work. */
  readonly subject: string
  /** Passed to every publish; its reply subject lets the server report "no responders". */
  readonly publishOptions: { reply: string }
  seq: number
  /** The peer reads batches (it announced BATCH_META). */
  batches: boolean
  /**
   * It announced PROBE_META: its liveness is probed (probe-share.ts), not judged by
   * silence, and it sends no heartbeats to nodes that know the key.
   */
  probed: boolean
  /** It announced WATCH_META: it probes a share of the probed peers. */
  watches: boolean
  /**
   * It announced ANSWER_META: it answers a liveness ping on its node subject with a pong,
   * so it can be asked when it falls silent with calls in flight (silence-watch.ts).
   */
  answers: boolean
  /**
   * Its incarnation token when it announced ONCE_META (it keeps the outcomes of requests
   * marked `once`, decision 0033); 0 when it does not.
   */
  once: number
  /** With `once`: its actions that are not idempotent, by service; their requests are marked `once`. */
  resendable: ReadonlyMap<string, ReadonlySet<string>> | undefined
  /** Something arrived from it since the silence watch last looked (set on every inbox message). */
  heard: boolean
  /** ms timestamp from which its silence counts: last heard, or last seen with no call in flight. */
  quietSince: number
  /** ms timestamp of the liveness ping it has not answered yet; 0 when none is out. */
  askedAt: number
  /** ms timestamp of the last message heard from the peer (any kind). */
  lastSeen: number
  /**
   * False from the moment this node's connection drops until the peer is heard again:
   * messages to it are held meanwhile (held-messages.ts), since until then its
   * subscriptions may not be on the server this node reconnected to.
   */
  reachable: boolean
}

/**
 * How an announcement compares with what is known of the peer; `other-unit` when the
 * node id is known under another unit (the announcement is not taken).
 */
export type Learned = 'new' | 'newer' | 'same' | 'older' | 'other-unit'

/**
 * The peers this node knows. Only the transport's own timers and subscriptions touch
 * it, all on the event loop, so no locking; removal is the one place that decides a
 * peer is gone, so `onPeerGone` fires once per departure.
 */
export class PeerTable {
  readonly #peers = new Map<string, Peer>()
  readonly #subjects: Subjects

  constructor(subjects: Subjects) {
    this.#subjects = subjects
  }

  get size(): number {
    return this.#peers.size
  }

  get(nodeId: string): Peer | undefined {
    return this.#peers.get(nodeId)
  }

  /**
   * Records `info` of a node of `unit` (its subject token) unless it is older than what
   * is known or the node is known under another unit; says how it compared.
   */
  learn(info: NodeInfo, unit: string, now: number): Learned {
    const known = this.#peers.get(info.nodeId)
    if (known === undefined) {
      const token = nodeToken(info.nodeId)
      this.#peers.set(info.nodeId, {
        nodeId: info.nodeId,
        unit,
        identity: info.identity,
        subject: this.#subjects.toPeer(unit, token),
        publishOptions: { reply: this.#subjects.replyFor(token) },
        seq: info.seq,
        batches: info.meta?.[BATCH_META] === 1,
        probed: info.meta?.[PROBE_META] === 1,
        watches: info.meta?.[WATCH_META] === 1,
        answers: info.meta?.[ANSWER_META] === 1,
        once: onceOf(info),
        resendable: resendableOf(info),
        heard: false,
        quietSince: now,
        askedAt: 0,
        queued: [],
        queuedBytes: 0,
        lastSeen: now,
        reachable: true,
      })
      return 'new'
    }
    if (known.unit !== unit) return 'other-unit'
    known.lastSeen = now
    if (info.seq < known.seq) return 'older'
    if (info.seq === known.seq) return 'same'
    known.seq = info.seq
    known.identity = info.identity
    known.batches = info.meta?.[BATCH_META] === 1
    known.probed = info.meta?.[PROBE_META] === 1
    known.watches = info.meta?.[WATCH_META] === 1
    known.answers = info.meta?.[ANSWER_META] === 1
    known.once = onceOf(info)
    known.resendable = resendableOf(info)
    return 'newer'
  }

  /** Removes a peer; false when it was not known (already gone). */
  remove(nodeId: string): boolean {
    return this.#peers.delete(nodeId)
  }

  /** Marks every peer as just heard, e.g. after our own connection came back. */
  touchAll(now: number): void {
    for (const peer of this.#peers.values()) peer.lastSeen = now
  }

  /** Marks every peer unreachable (our connection dropped); returns their ids. */
  unreachAll(): string[] {
    for (const peer of this.#peers.values()) peer.reachable = false
    return [...this.#peers.keys()]
  }

  /** Every known peer, in no particular order. */
  values(): IterableIterator<Peer> {
    return this.#peers.values()
  }

  /**
   * Removes and returns the peers not heard from since `cutoff`. Probed peers send no
   * heartbeats and are never expired by silence (probes and "no responders" judge them).
   */
  expire(cutoff: number): string[] {
    const gone: string[] = []
    for (const peer of this.#peers.values()) {
      if (!peer.probed && peer.lastSeen < cutoff) gone.push(peer.nodeId)
    }
    for (const nodeId of gone) this.#peers.delete(nodeId)
    return gone
  }

  /** Removes every peer and returns their ids. */
  clear(): string[] {
    const all = [...this.#peers.keys()]
    this.#peers.clear()
    return all
  }
}

function onceOf(info: NodeInfo): number {
  const token = info.meta?.[ONCE_META]
  return typeof token === 'number' && Number.isSafeInteger(token) && token > 0 ? token : 0
}

/** The peer's non-idempotent actions by service, when it keeps outcomes (else none are marked). */
function resendableOf(info: NodeInfo): ReadonlyMap<string, ReadonlySet<string>> | undefined {
  if (onceOf(info) === 0) return undefined
  const out = new Map<string, Set<string>>()
  for (const service of info.services) {
    const actions = new Set<string>()
    for (const [name, action] of Object.entries(service.actions)) if (!action.idempotent) actions.add(name)
    if (actions.size > 0) out.set(service.name, actions)
  }
  return out
}
