import { TesseraError } from '../errors/index.ts'
import type { ResponseMessage } from '../transport/index.ts'
import type { DeadlineEntry, DeadlineWatch } from './deadline-watch.ts'

interface Pending {
  nodeId: string
  resolve: (value: unknown) => void
  reject: (reason: unknown) => void
  deadline: DeadlineEntry
  detachSignal: (() => void) | undefined
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
    return new Promise((resolve, reject) => {
      const entry: Pending = {
        nodeId,
        resolve,
        reject,
        deadline: this.#deadlines.watch(deadline, {
          expire: () => {
            this.#end(id, entry)
            this.#sendCancel(nodeId, id)
            reject(new TesseraError('TIMEOUT', `${label} timed out`, { nodeId }))
          },
        }),
        detachSignal: undefined,
      }
      if (signal) {
        const onAbort = () => {
          this.#end(id, entry)
          this.#sendCancel(nodeId, id)
          reject(new TesseraError('CANCELLED', `${label} was cancelled by the caller`))
        }
        signal.addEventListener('abort', onAbort, { once: true })
        entry.detachSignal = () => signal.removeEventListener('abort', onAbort)
      }
      this.#pending.set(id, entry)
    })
  }

  /** Settles a request with its answer. Answers from another node than the one asked are ignored. */
  settle(from: string, msg: ResponseMessage): void {
    const entry = this.#pending.get(msg.id)
    if (!entry || entry.nodeId !== from) return
    this.#end(msg.id, entry)
    if (msg.ok) entry.resolve(msg.output)
    else entry.reject(TesseraError.fromWire(msg.error))
  }

  /** Fails one request now (e.g. the transport could not send it). */
  fail(id: number, error: TesseraError): void {
    const entry = this.#pending.get(id)
    if (!entry) return
    this.#end(id, entry)
    entry.reject(error)
  }

  /** Fails every request waiting on `nodeId`: it left, so no answer will come. */
  failNode(nodeId: string, error: TesseraError): void {
    for (const [id, entry] of this.#pending) {
      if (entry.nodeId === nodeId) {
        this.#end(id, entry)
        entry.reject(error)
      }
    }
  }

  failAll(error: TesseraError): void {
    for (const [id, entry] of this.#pending) {
      this.#end(id, entry)
      entry.reject(error)
    }
  }

  #end(id: number, entry: Pending): void {
    this.#pending.delete(id)
    entry.deadline.cancel()
    entry.detachSignal?.()
  }
}
