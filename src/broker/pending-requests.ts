import { markCallFailure, TesseraError } from '../errors/index.ts'
import type { ResponseMessage } from '../wire/index.ts'
import { type Abortable, unwatchAbort, watchAbort } from './abort-watch.ts'
import type { DeadlineEntry, DeadlineWatch, Expirable } from './deadline-watch.ts'

/**
 * One request waiting for its answer. It is its own deadline target and abort
 * waiter, so a request in flight costs this object and its promise, no closures.
 */
class Pending implements Expirable, Abortable {
  deadline: DeadlineEntry | undefined
  constructor(
    readonly owner: PendingRequests,
    readonly nodeId: string,
    readonly id: number,
    readonly resolve: (value: unknown) => void,
    readonly reject: (reason: unknown) => void,
    /** `service.action` for error messages, or service and action to make it only when needed. */
    readonly label: string,
    readonly action: string | undefined,
    readonly signal: AbortSignal | undefined,
    /** Calls in flight per node: this request counts itself there until it ends. */
    readonly outstanding: Map<string, number> | undefined,
  ) {}

  name(): string {
    return this.action === undefined ? this.label : `${this.label}.${this.action}`
  }

  expire(): void {
    this.owner.giveUp(this, new TesseraError('TIMEOUT', `${this.name()} timed out`, { nodeId: this.nodeId }))
  }

  /** The caller's AbortSignal fired. */
  onAbort(): void {
    this.owner.giveUp(this, new TesseraError('CANCELLED', `${this.name()} was cancelled by the caller`))
  }
}

/**
 * Requests sent to peers and waiting for their answer. Every entry ends exactly once:
 * answered, timed out (TIMEOUT, and the peer is told to cancel), cancelled by the
 * caller (CANCELLED), or failed because its peer left (UNAVAILABLE, retryable).
 */
export class PendingRequests {
  readonly #pending = new Map<number, Pending>()
  readonly #deadlines: DeadlineWatch
  readonly #sendCancel: (nodeId: string, id: number) => void
  #nextId = 1

  constructor(deadlines: DeadlineWatch, sendCancel: (nodeId: string, id: number) => void) {
    this.#deadlines = deadlines
    this.#sendCancel = sendCancel
  }

  nextId(): number {
    const id = this.#nextId
    this.#nextId = id >= Number.MAX_SAFE_INTEGER ? 1 : id + 1
    return id
  }

  get size(): number {
    return this.#pending.size
  }

  /** Registers request `id` to `nodeId`; the promise settles by one of the four ends above. */
  track(
    nodeId: string,
    id: number,
    deadline: number,
    label: string,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    return this.trackCall(nodeId, id, deadline, label, undefined, signal, undefined)
  }

  /**
   * `track` for the dispatcher's hot path: the label is made from `service` and
   * `action` only if an error needs it, and the request counts itself in
   * `outstanding[nodeId]` from now until it ends.
   */
  trackCall(
    nodeId: string,
    id: number,
    deadline: number,
    service: string,
    action: string | undefined,
    signal: AbortSignal | undefined,
    outstanding: Map<string, number> | undefined,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const entry = new Pending(this, nodeId, id, resolve, reject, service, action, signal, outstanding)
      entry.deadline = this.#deadlines.watch(deadline, entry)
      if (signal !== undefined) watchAbort(signal, entry)
      if (outstanding) outstanding.set(nodeId, (outstanding.get(nodeId) ?? 0) + 1)
      this.#pending.set(id, entry)
    })
  }

  /** Settles a request with its answer. Answers from another node than the one asked are ignored. */
  settle(from: string, msg: ResponseMessage): void {
    const entry = this.#pending.get(msg.id)
    if (!entry || entry.nodeId !== from) return
    this.#end(entry)
    if (msg.ok) entry.resolve(msg.output)
    else entry.reject(markCallFailure(TesseraError.fromWire(msg.error)))
  }

  /** Fails one request now (e.g. the transport could not send it). */
  fail(id: number, error: TesseraError): void {
    const entry = this.#pending.get(id)
    if (!entry) return
    this.#end(entry)
    entry.reject(markCallFailure(error))
  }

  /**
   * Fails every request waiting on `nodeId`: it left, so no answer will come. Requests
   * in `spare` stay: the transport is resending them (decision 0033).
   */
  failNode(nodeId: string, error: TesseraError, spare?: ReadonlySet<number>): void {
    markCallFailure(error)
    for (const entry of this.#pending.values()) {
      if (entry.nodeId === nodeId && spare?.has(entry.id) !== true) {
        this.#end(entry)
        entry.reject(error)
      }
    }
  }

  failAll(error: TesseraError): void {
    markCallFailure(error)
    for (const entry of this.#pending.values()) {
      this.#end(entry)
      entry.reject(error)
    }
  }

  /** The deadline passed or the caller aborted: the peer is told to cancel. */
  giveUp(entry: Pending, error: TesseraError): void {
    if (this.#pending.get(entry.id) !== entry) return
    this.#end(entry)
    this.#sendCancel(entry.nodeId, entry.id)
    entry.reject(markCallFailure(error))
  }

  #end(entry: Pending): void {
    this.#pending.delete(entry.id)
    entry.deadline?.cancel()
    if (entry.signal !== undefined) unwatchAbort(entry.signal, entry)
    const outstanding = entry.outstanding
    if (outstanding) outstanding.set(entry.nodeId, (outstanding.get(entry.nodeId) ?? 1) - 1)
  }
}
