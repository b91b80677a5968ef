import type { Message } from '../../wire/index.ts'

/** One message waiting for its peer to be reachable again. */
interface Held {
  readonly message: Message
  readonly bytes: Uint8Array
  /** When a held request is given up as undelivered (a little before its deadline). */
  readonly giveUpAt: number
}

/** What the holding needs around it. */
export interface HeldDeps {
  /** Most bytes held for all peers together; a send past it is refused. */
  maxBytes: number
  now(): number
  /** A held request was dropped unsent: its call may be retried anywhere. */
  undelivered(nodeId: string, requestId: number, reason: string): void
}

/**
 * Messages to peers that cannot be reached right now: while this node's NATS connection
 * is down, and after it is back until the peer is heard from again (before that the
 * peer's subscriptions may not be on the server yet, and a message would go into the
 * void: nats.js discards what is published while disconnected, and the server drops
 * what has no subscriber). Released in send order once the peer is heard
 * (`take`), or dropped: a request whose deadline is near is given up as undelivered
 * (so the caller fails it fast, or retries it, instead of waiting out its deadline),
 * and everything held for a peer is given up when the peer is gone (`drop`).
 */
export class HeldMessages {
  readonly #byNode = new Map<string, Held[]>()
  readonly #deps: HeldDeps
  #bytes = 0
  #timer: NodeJS.Timeout | undefined
  #armedFor = Number.POSITIVE_INFINITY

  constructor(deps: HeldDeps) {
    this.#deps = deps
  }

  /** Bytes held now, for all peers. */
  get bytes(): number {
    return this.#bytes
  }

  /** True while anything is held for `nodeId`: later messages to it must queue behind. */
  has(nodeId: string): boolean {
    return this.#byNode.has(nodeId)
  }

  /** Holds `bytes` (the encoded `message`) for `nodeId`; false when over `maxBytes`. */
  hold(nodeId: string, message: Message, bytes: Uint8Array): boolean {
    if (this.#bytes + bytes.length > this.#deps.maxBytes) return false
    const now = this.#deps.now()
    // A request is given up a little before its deadline, so the caller hears
    // UNAVAILABLE (never delivered) rather than TIMEOUT; other messages ride along.
    const timeout = message.kind === 'request' ? message.ctx.timeout : Number.POSITIVE_INFINITY
    const giveUpAt = now + Math.max(0, timeout - Math.min(100, timeout / 10))
    let queue = this.#byNode.get(nodeId)
    if (queue === undefined) {
      queue = []
      this.#byNode.set(nodeId, queue)
    }
    queue.push({ message, bytes, giveUpAt })
    this.#bytes += bytes.length
    if (giveUpAt < this.#armedFor) this.stop()
    this.#arm()
    return true
  }

  /** Removes and returns what is held for `nodeId`, in send order (to be sent now). */
  take(nodeId: string): Uint8Array[] {
    const queue = this.#byNode.get(nodeId)
    if (queue === undefined) return []
    this.#byNode.delete(nodeId)
    const out: Uint8Array[] = []
    for (const held of queue) {
      this.#bytes -= held.bytes.length
      out.push(held.bytes)
    }
    return out
  }

  /** Gives up everything held for `nodeId` (the peer is gone): each request as undelivered. */
  drop(nodeId: string, reason: string): void {
    const queue = this.#byNode.get(nodeId)
    if (queue === undefined) return
    this.#byNode.delete(nodeId)
    for (const held of queue) this.#giveUp(nodeId, held, reason)
  }

  /** Gives up everything held, for every peer. */
  dropAll(reason: string): void {
    for (const nodeId of [...this.#byNode.keys()]) this.drop(nodeId, reason)
  }

  /** Stops the timer; what is still held stays (close drops it with the peers). */
  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#armedFor = Number.POSITIVE_INFINITY
  }

  #giveUp(nodeId: string, held: Held, reason: string): void {
    this.#bytes -= held.bytes.length
    if (held.message.kind === 'request') this.#deps.undelivered(nodeId, held.message.id, reason)
  }

  // One timer for the earliest give-up; rearmed after each expiry pass.
  #arm(): void {
    if (this.#timer !== undefined) return
    let earliest = Number.POSITIVE_INFINITY
    for (const queue of this.#byNode.values()) {
      for (const held of queue) if (held.giveUpAt < earliest) earliest = held.giveUpAt
    }
    if (earliest === Number.POSITIVE_INFINITY) return
    this.#armedFor = earliest
    this.#timer = setTimeout(() => this.#expire(), Math.max(1, earliest - this.#deps.now()))
    this.#timer.unref()
  }

  #expire(): void {
    this.#timer = undefined
    this.#armedFor = Number.POSITIVE_INFINITY
    const now = this.#deps.now()
    for (const [nodeId, queue] of this.#byNode) {
      const kept = queue.filter((held) => {
        if (held.giveUpAt > now) return true
        this.#giveUp(nodeId, held, 'its deadline came while the peer was unreachable')
        return false
      })
      if (kept.length === 0) this.#byNode.delete(nodeId)
      else this.#byNode.set(nodeId, kept)
    }
    this.#arm()
  }
}
