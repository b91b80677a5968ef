/** A subscriber of a consumer: one node's `consume`, over one connection to the store. */
export interface Subscriber {
  /** At most this many deliveries unacked at once. */
  readonly window: number
  readonly inFlight: Set<number>
  deliver(seq: number, n: number): void
}

export interface Pending {
  /** Deliveries made so far. */
  n: number
  /** Who has it now; undefined while it waits (backoff, or its subscriber went). */
  to: Subscriber | undefined
  /** ackWait of the delivery in flight, or the backoff before the next one. */
  timer: NodeJS.Timeout | undefined
}

/** How a consumer retries, from its latest subscription. */
export interface RetryOptions {
  maxDeliver: number
  backoffMs: readonly number[]
  ackWaitMs: number
}

/**
 * One consumer's position: every sequence up to `floor` is done (acked, dead-lettered,
 * or not for it), and `done` holds the done ones above it. What is delivered and not
 * done is in `pending` (in memory only: after a restart of the store it is delivered
 * again). `delivered` counts the deliveries made of sequences not done yet, as the log
 * has them, so a count goes on across a restart. `cursor` is the highest sequence
 * delivered once.
 */
export class Consumer {
  floor: number
  readonly done = new Set<number>()
  readonly delivered = new Map<number, number>()
  cursor: number
  readonly pending = new Map<number, Pending>()
  /** Pending sequences due for another delivery now, oldest first. */
  readonly ready = new Set<number>()
  readonly subs: Subscriber[] = []
  #rr = 0
  retry: RetryOptions = { maxDeliver: 5, backoffMs: [1000], ackWaitMs: 30_000 }
  idleTimer: NodeJS.Timeout | undefined

  constructor(
    readonly key: string,
    readonly service: string,
    readonly event: string,
    readonly mode: 'balanced' | 'broadcast',
    readonly node: string | undefined,
    floor: number,
  ) {
    this.floor = floor
    this.cursor = floor
  }

  isDone(seq: number): boolean {
    return seq <= this.floor || this.done.has(seq)
  }

  /**
   * Marks `seq` done and moves the floor over every done (or skipped) sequence after it.
   * `seqs` are this consumer's event's sequences in order, `skip` tells the ones not for it.
   */
  markDone(seq: number, seqs: readonly number[], skip: (seq: number) => boolean): void {
    if (this.isDone(seq)) return
    this.done.add(seq)
    this.delivered.delete(seq)
    for (let i = upperBound(seqs, this.floor); i < seqs.length; i++) {
      const s = seqs[i]!
      if (this.done.delete(s) || skip(s)) this.floor = s
      else break
    }
  }

  /** The next subscriber with room, round-robin. */
  pick(): Subscriber | undefined {
    for (let i = 0; i < this.subs.length; i++) {
      const sub = this.subs[(this.#rr + i) % this.subs.length]!
      if (sub.inFlight.size < sub.window) {
        this.#rr = (this.#rr + i + 1) % this.subs.length
        return sub
      }
    }
    return undefined
  }

  clearTimers(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer)
    clearTimeout(this.idleTimer)
  }
}

/** The index of the first element of the ascending `seqs` greater than `value`. */
export function upperBound(seqs: readonly number[], value: number): number {
  let lo = 0
  let hi = seqs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (seqs[mid]! <= value) lo = mid + 1
    else hi = mid
  }
  return lo
}
