/**
 * The callee's side of at-most-once delivery across link losses (decision 0033): the
 * requests marked `once` that this node ran lately, per caller node, with their encoded
 * answers once they have them. A resend of one of them attaches to it (still running:
 * its answer goes out when it ends) or gets the stored answer (finished); it never runs
 * again. A resend this table has no record of runs if it cannot have arrived before, and
 * is answered "outcome unknown" if its record may have been evicted.
 *
 * Bounds: records leave in arrival order once past their own deadline (a resend comes
 * within it), and earlier when there are more than `maxEntries` or their answers hold more
 * than `maxBytes`. Only requests marked `once` are recorded (non-idempotent calls to this
 * node); others cost one size check per answer.
 */

/**
 * The `NodeInfo.meta` key by which a node tells its NATS peers that it keeps the outcomes
 * of requests marked `once` (this table); its value is the node's incarnation token, a
 * random positive integer per transport, so a peer can tell a restarted process under the
 * same node id from the one it sent to. Requests to a peer without it are never marked.
 */
export const ONCE_META = 'tessera.nats.once'

/** What `arrive` decided for a request. */
export type Arrival =
  | { readonly type: 'run' }
  /** A resend of a request still running here: its answer will go out when it ends. */
  | { readonly type: 'running' }
  /** A resend of a finished request: send its stored answer, do not run it. */
  | { readonly type: 'answered'; readonly bytes: Uint8Array }
  /** A resend whose record may have been evicted: it may have run, answer "outcome unknown". */
  | { readonly type: 'unknown' }

const RUN: Arrival = { type: 'run' }
const RUNNING: Arrival = { type: 'running' }
const UNKNOWN: Arrival = { type: 'unknown' }

interface OnceRecord {
  readonly caller: CallerRecords
  readonly id: number
  readonly expiresAt: number
  answer: Uint8Array | undefined
}

/** One caller's records, and what its evicted ones leave behind. */
interface CallerRecords {
  readonly nodeId: string
  readonly byId: Map<number, OnceRecord>
  /** The caller's incarnation token when it arrived (decision 0033); a new one clears the records. */
  incarnation: number | undefined
  /** The highest id evicted: a resend at or below it without a record may have run. */
  evictedUpTo: number
  /** Until when a resend of an evicted record could still come (the latest evicted deadline). */
  unknownUntil: number
}

export interface OnceTableOptions {
  maxEntries: number
  maxBytes: number
  /** Added to each record's deadline: the caller's clock and ours do not start the same instant. */
  graceMs: number
  now(): number
}

export class OnceTable {
  readonly #callers = new Map<string, CallerRecords>()
  /** Every record in arrival order, for eviction; `#head` is the oldest still in it. */
  #order: (OnceRecord | undefined)[] = []
  #head = 0
  #entries = 0
  #bytes = 0
  #sweptAt = Number.NEGATIVE_INFINITY
  readonly #options: OnceTableOptions

  constructor(options: OnceTableOptions) {
    this.#options = options
  }

  /** Records held now. */
  get size(): number {
    return this.#entries
  }

  /** Bytes of stored answers held now. */
  get bytes(): number {
    return this.#bytes
  }

  /**
   * A request marked `once` (a first sending or a resend: both are looked up) arrived
   * from `from`, with `timeoutMs` left. `incarnation` is the caller's announced token when it is known; a
   * different one than before means a new process under the same node id, whose ids
   * start again, so the old records are dropped.
   */
  arrive(from: string, id: number, timeoutMs: number, incarnation: number | undefined): Arrival {
    const now = this.#options.now()
    this.#evict(now)
    let caller = this.#callers.get(from)
    if (caller !== undefined && incarnation !== undefined && caller.incarnation !== incarnation) {
      if (caller.incarnation !== undefined) {
        this.#forget(caller)
        caller = undefined
      } else caller.incarnation = incarnation
    }
    const known = caller?.byId.get(id)
    if (known !== undefined)
      return known.answer === undefined ? RUNNING : { type: 'answered', bytes: known.answer }
    // At or below an evicted id: its record may have been among them. A caller's ids rise
    // and reach us in order, so a first sending never lands here; a resend of a request
    // that never arrived may (it is answered "unknown" rather than risk a second run).
    if (caller !== undefined && id <= caller.evictedUpTo) return UNKNOWN
    if (caller === undefined) {
      this.#sweepCallers(now)
      caller = { nodeId: from, byId: new Map(), incarnation, evictedUpTo: 0, unknownUntil: 0 }
      this.#callers.set(from, caller)
    }
    const record: OnceRecord = {
      caller,
      id,
      expiresAt: now + Math.max(0, timeoutMs) + this.#options.graceMs,
      answer: undefined,
    }
    caller.byId.set(id, record)
    this.#order.push(record)
    this.#entries++
    this.#evict(now)
    return RUN
  }

  /** True when request `id` from `nodeId` is recorded and not answered yet. */
  awaits(nodeId: string, id: number): boolean {
    if (this.#entries === 0) return false
    const record = this.#callers.get(nodeId)?.byId.get(id)
    return record !== undefined && record.answer === undefined
  }

  /** The answer to request `id` from `nodeId` is going out as `bytes`: kept for resends. */
  answered(nodeId: string, id: number, bytes: Uint8Array): void {
    if (this.#entries === 0) return
    const record = this.#callers.get(nodeId)?.byId.get(id)
    if (record === undefined || record.answer !== undefined) return
    record.answer = bytes
    this.#bytes += bytes.length
    this.#evict(this.#options.now())
  }

  /** Drops everything (the transport closed). */
  clear(): void {
    this.#callers.clear()
    this.#order = []
    this.#head = 0
    this.#entries = 0
    this.#bytes = 0
  }

  // Oldest first: past its deadline, or while over a bound.
  #evict(now: number): void {
    const { maxEntries, maxBytes } = this.#options
    while (this.#head < this.#order.length) {
      const oldest = this.#order[this.#head]
      if (oldest === undefined || oldest.caller.byId.get(oldest.id) !== oldest) {
        this.#head++ // forgotten with its caller
        continue
      }
      if (oldest.expiresAt > now && this.#entries <= maxEntries && this.#bytes <= maxBytes) break
      this.#order[this.#head++] = undefined
      this.#remove(oldest)
      const caller = oldest.caller
      if (oldest.id > caller.evictedUpTo) caller.evictedUpTo = oldest.id
      if (oldest.expiresAt > caller.unknownUntil) caller.unknownUntil = oldest.expiresAt
    }
    // Compact once the evicted head is at least half the array.
    if (this.#head > 1024 && this.#head * 2 >= this.#order.length) {
      this.#order = this.#order.slice(this.#head)
      this.#head = 0
    }
  }

  #remove(record: OnceRecord): void {
    const caller = record.caller
    caller.byId.delete(record.id)
    this.#entries--
    if (record.answer !== undefined) this.#bytes -= record.answer.length
  }

  // Callers with no records whose evicted deadlines all passed hold nothing worth keeping.
  // Run when a caller is added, so the map never holds more than the callers seen lately.
  #sweepCallers(now: number): void {
    if (now < this.#sweptAt + 1000) return
    this.#sweptAt = now
    for (const [nodeId, caller] of this.#callers) {
      if (caller.byId.size === 0 && caller.unknownUntil < now) this.#callers.delete(nodeId)
    }
  }

  // A caller's new incarnation: its old records mean nothing now.
  #forget(caller: CallerRecords): void {
    for (const record of caller.byId.values()) {
      this.#entries--
      if (record.answer !== undefined) this.#bytes -= record.answer.length
    }
    caller.byId.clear()
    this.#callers.delete(caller.nodeId)
  }
}
