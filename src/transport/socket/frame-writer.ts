import { HEADER_BYTES } from './frame-parser.ts'

/** The part of `net.Socket` the writer uses (a fake in unit tests). */
export interface FrameOutput {
  write(chunk: Buffer): boolean
  cork(): void
  uncork(): void
  once(event: 'drain', listener: () => void): unknown
}

/** Bodies at least this big are written as their own chunk instead of being copied. */
const COPY_LIMIT = 64 * 1024

/**
 * Queues frames and writes everything queued in one event-loop turn with a single
 * `write` (small frames are coalesced into one buffer; big bodies go out as separate
 * chunks of one corked `writev`, so an 8 MB payload is not copied again).
 *
 * The flush runs in the check phase (`setImmediate`), not in a microtask: frames sent
 * from many I/O callbacks of one poll (e.g. a gateway serving 64 HTTP connections, each
 * request its own callback) share one write instead of costing one syscall each. The
 * check phase follows the poll phase of the same loop iteration, so a lone call waits
 * no longer.
 *
 * Backpressure: once `write` returns false the writer stops writing until 'drain' and
 * keeps queueing in memory. Nothing is ever dropped; a peer that never reads grows this
 * process's memory until its connection is closed (heartbeats close a hung peer's).
 */
export class FrameWriter {
  private queue: Uint8Array[] = []
  private queuedBytes = 0
  private scheduled = false
  private blocked = false
  private closed = false
  private idleWaiters: Array<() => void> = []

  constructor(private readonly out: FrameOutput) {}

  /** Bytes queued and not yet handed to the socket. */
  get pendingBytes(): number {
    return this.queuedBytes
  }

  /** Queues one frame body; it is written in the check phase of the current turn. */
  enqueue(body: Uint8Array): void {
    if (this.closed) return
    this.queue.push(body)
    this.queuedBytes += body.length + HEADER_BYTES
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true
      setImmediate(this.flushNow)
    }
  }

  /** Writes whatever is queued now unless the socket asked to wait for 'drain'. */
  readonly flushNow = (): void => {
    this.scheduled = false
    if (this.blocked || this.closed) return
    if (this.queue.length === 0) {
      this.wakeIdle()
      return
    }
    const chunks = this.coalesce()
    let ok: boolean
    if (chunks.length === 1) {
      ok = this.out.write(chunks[0]!)
    } else {
      this.out.cork()
      ok = true
      for (const c of chunks) ok = this.out.write(c) && ok
      this.out.uncork()
    }
    if (!ok) {
      this.blocked = true
      this.out.once('drain', this.onDrain)
      return
    }
    this.wakeIdle()
  }

  /**
   * Writes what is queued and resolves once all of it was handed to the socket (after
   * 'drain' events if needed), so `socket.end()` afterwards cannot overtake a frame.
   * Resolves at once when the writer is closed.
   */
  flushed(): Promise<void> {
    this.flushNow()
    if (this.closed || (!this.blocked && this.queue.length === 0)) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** Drops the queue and ignores later frames (the socket is gone). */
  close(): void {
    this.closed = true
    this.queue = []
    this.queuedBytes = 0
    this.wakeIdle()
  }

  private wakeIdle(): void {
    if (this.idleWaiters.length === 0) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }

  private readonly onDrain = (): void => {
    this.blocked = false
    this.flushNow()
  }

  /** Turns the queue into as few buffers as possible: headers inline, big bodies by reference. */
  private coalesce(): Buffer[] {
    const frames = this.queue
    this.queue = []
    let inline = 0
    for (const f of frames) inline += HEADER_BYTES + (f.length >= COPY_LIMIT ? 0 : f.length)
    const chunks: Buffer[] = []
    const buf = Buffer.allocUnsafe(inline)
    let pos = 0
    let from = 0
    for (const f of frames) {
      buf.writeUInt32BE(f.length, pos)
      pos += HEADER_BYTES
      if (f.length < COPY_LIMIT) {
        buf.set(f, pos)
        pos += f.length
        continue
      }
      chunks.push(buf.subarray(from, pos))
      chunks.push(Buffer.from(f.buffer, f.byteOffset, f.length))
      from = pos
    }
    if (pos > from) chunks.push(buf.subarray(from, pos))
    this.queuedBytes = 0
    return chunks
  }
}
