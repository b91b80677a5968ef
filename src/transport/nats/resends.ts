import type { RequestMessage } from '../../wire/index.ts'

/** One request sent `once` and not answered yet. */
interface Entry {
  readonly nodeId: string
  readonly message: RequestMessage
  /** Sent again at least once: if it cannot be answered now, it may have run. */
  resent: boolean
}

/** Requests waiting for their peer to come back after it was reported gone. */
interface Parked {
  readonly incarnation: number
  readonly ids: Set<number>
  readonly timer: NodeJS.Timeout
}

export interface ResendsDeps {
  /** How long requests wait for a peer reported gone by "no responders" to come back. */
  graceMs: number
  /** A request that will not be sent again: its peer did not come back (or came back as another process). */
  lost(nodeId: string, requestId: number, reason: string): void
}

/**
 * The caller's side of at-most-once delivery across link losses (decision 0033): the
 * requests sent `once` (non-idempotent calls to peers that keep outcomes) that are not
 * answered yet. When what was on its way to or from a peer may have been lost, each is
 * sent again, same id, marked as a resend, which the peer runs at most once
 * (once-table.ts). An entry ends with its answer, its cancel (deadline or abort), when
 * it was never delivered, or when its peer is gone for good.
 *
 * A peer reported gone because the server found no subscriber ("no responders": its
 * server died, it is reconnecting to another) is waited for `graceMs` (`park`): if the
 * same process comes back (same incarnation token), its requests are sent again
 * (`unpark`); else they are `lost`, as they would have been before.
 */
export class Resends {
  readonly #byId = new Map<number, Entry>()
  readonly #parked = new Map<string, Parked>()
  readonly #deps: ResendsDeps

  constructor(deps: ResendsDeps) {
    this.#deps = deps
  }

  get size(): number {
    return this.#byId.size
  }

  /** `message` (marked `once: 1`) went to `nodeId`. */
  track(nodeId: string, message: RequestMessage): void {
    this.#byId.set(message.id, { nodeId, message, resent: false })
  }

  /** Request `id` to `nodeId` ended (answered, cancelled, undelivered): nothing to resend. */
  settle(nodeId: string, id: number): void {
    const entry = this.#byId.get(id)
    if (entry === undefined || entry.nodeId !== nodeId) return
    this.#byId.delete(id)
    this.#parked.get(nodeId)?.ids.delete(id)
  }

  /** True when request `id` was sent again: if it cannot be answered now, it may have run. */
  wasResent(id: number): boolean {
    return this.#byId.get(id)?.resent === true
  }

  /** True while the requests of `nodeId` wait for it to come back. */
  isParked(nodeId: string, id: number): boolean {
    return this.#parked.get(nodeId)?.ids.has(id) === true
  }

  /** The ids of the requests to `nodeId` not answered yet; undefined when none. */
  idsFor(nodeId: string): Set<number> | undefined {
    let ids: Set<number> | undefined
    for (const [id, entry] of this.#byId) {
      if (entry.nodeId !== nodeId) continue
      ids ??= new Set()
      ids.add(id)
    }
    return ids
  }

  /** The requests to `nodeId` as resends (`once: 2`), in the order they were first sent. */
  resendsFor(nodeId: string): RequestMessage[] {
    const out: RequestMessage[] = []
    for (const entry of this.#byId.values()) {
      if (entry.nodeId !== nodeId) continue
      entry.resent = true
      out.push(entry.message.once === 2 ? entry.message : { ...entry.message, once: 2 })
    }
    return out
  }

  /**
   * `nodeId` (of `incarnation`) was reported gone by "no responders": its requests wait
   * `graceMs` for it. Returns their ids (the broker must not fail them), or undefined.
   */
  park(nodeId: string, incarnation: number): ReadonlySet<number> | undefined {
    const ids = this.idsFor(nodeId)
    if (ids === undefined) return undefined
    this.#endParked(nodeId, 'parked again')
    const timer = setTimeout(
      () => this.#endParked(nodeId, `the node did not come back within ${this.#deps.graceMs} ms`),
      this.#deps.graceMs,
    )
    timer.unref()
    this.#parked.set(nodeId, { incarnation, ids, timer })
    return ids
  }

  /**
   * `nodeId` is known again with `incarnation`: the requests parked for it, as resends,
   * if it is the same process; if another, they are lost (the old one may have run them).
   */
  unpark(nodeId: string, incarnation: number): RequestMessage[] {
    const parked = this.#parked.get(nodeId)
    if (parked === undefined) return []
    if (parked.incarnation !== incarnation) {
      this.#endParked(nodeId, 'the node came back as another process')
      return []
    }
    clearTimeout(parked.timer)
    this.#parked.delete(nodeId)
    return this.resendsFor(nodeId)
  }

  /** `nodeId` is gone for good: its entries are forgotten (the broker fails their calls). */
  forget(nodeId: string): void {
    this.#endParked(nodeId, 'the node is gone')
    for (const [id, entry] of this.#byId) if (entry.nodeId === nodeId) this.#byId.delete(id)
  }

  /** Forgets everything (the transport closed; the broker fails every call). */
  clear(): void {
    for (const parked of this.#parked.values()) clearTimeout(parked.timer)
    this.#parked.clear()
    this.#byId.clear()
  }

  #endParked(nodeId: string, reason: string): void {
    const parked = this.#parked.get(nodeId)
    if (parked === undefined) return
    clearTimeout(parked.timer)
    this.#parked.delete(nodeId)
    for (const id of parked.ids) {
      if (!this.#byId.delete(id)) continue
      this.#deps.lost(nodeId, id, reason)
    }
  }
}
