/** Bytes of the big-endian length prefix in front of every frame body. */
export const HEADER_BYTES = 4

const EMPTY = Buffer.alloc(0)

export interface FrameSink {
  /** One complete frame body. It may be a view into a socket chunk: copy it to keep it. */
  onFrame(body: Uint8Array): void
  /**
   * Optional; called instead of `onFrame` when present: the body is bytes `start` to `end`
   * of `buf` (a socket chunk, or a buffer of its own). No view is made per frame, so a
   * decoder that reads a range (msgpackr does) keeps one DataView per chunk, not per frame.
   */
  onFrameAt?(buf: Uint8Array, start: number, end: number): void
  /** The stream is broken (a frame longer than allowed); the parser ignores everything after. */
  onError(reason: string): void
}

/**
 * Incremental parser for `[u32 big-endian length][body]` frames.
 *
 * Chunks may split frames anywhere and hold many frames. Whole frames inside one chunk
 * are handed out as zero-copy views; a frame spread over several chunks is copied once
 * into its own buffer, so every byte is copied at most once (no O(n²) re-concatenation).
 * Buffered bytes never exceed `maxFrameBytes + 4`: a longer length prefix is reported
 * through `onError` before its body arrives. The parser itself never throws; `onFrame` must not
 * throw either (the connection catches decode errors and drops itself).
 */
export class FrameParser {
  private pending: Buffer[] = []
  private pendingBytes = 0
  /** Body length of the frame being assembled, or -1 while its header is incomplete. */
  private need = -1
  private failed = false
  private readonly emit: (buf: Uint8Array, start: number, end: number) => void

  constructor(
    private readonly sink: FrameSink,
    private readonly maxFrameBytes: number,
  ) {
    const at = sink.onFrameAt
    this.emit =
      at !== undefined
        ? (buf, start, end) => at.call(sink, buf, start, end)
        : (buf, start, end) =>
            sink.onFrame(start === 0 && end === buf.length ? buf : buf.subarray(start, end))
  }

  /** Bytes held waiting for the rest of a frame (for tests and metrics). */
  get buffered(): number {
    return this.pendingBytes
  }

  push(chunk: Buffer): void {
    if (this.failed || chunk.length === 0) return
    if (this.pendingBytes === 0 && this.need < 0) {
      this.scan(chunk)
      return
    }
    this.pending.push(chunk)
    this.pendingBytes += chunk.length
    this.drainPending()
  }

  /** Fast path: frames wholly inside `chunk` are emitted as views; a tail is kept. */
  private scan(chunk: Buffer): void {
    let offset = 0
    const end = chunk.length
    while (end - offset >= HEADER_BYTES) {
      const len = chunk.readUInt32BE(offset)
      if (!this.accept(len)) return
      if (end - offset - HEADER_BYTES < len) break
      const start = offset + HEADER_BYTES
      offset = start + len
      this.emit(chunk, start, offset)
      if (this.failed) return
    }
    if (offset < end) {
      this.pending.push(offset === 0 ? chunk : chunk.subarray(offset))
      this.pendingBytes = end - offset
    }
  }

  /** Slow path: assembles frames from the queued chunks. */
  private drainPending(): void {
    while (!this.failed) {
      if (this.need < 0) {
        if (this.pendingBytes < HEADER_BYTES) return
        const len = this.take(HEADER_BYTES).readUInt32BE(0)
        if (!this.accept(len)) return
        this.need = len
      }
      if (this.pendingBytes < this.need) return
      const body = this.take(this.need)
      this.need = -1
      this.emit(body, 0, body.length)
      if (this.pending.length <= 1) {
        // Back to the fast path for whatever is left, so only split frames pay for copies.
        const rest = this.pending.pop()
        this.pendingBytes = 0
        if (rest !== undefined && !this.failed) this.scan(rest)
        return
      }
    }
  }

  /** Removes `n` bytes from the front of the queue: a view when they sit in one chunk. */
  private take(n: number): Buffer {
    const first = this.pending[0]
    if (first === undefined || n === 0) return EMPTY
    this.pendingBytes -= n
    if (first.length >= n) {
      if (first.length === n) this.pending.shift()
      else this.pending[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const out = Buffer.allocUnsafe(n)
    let filled = 0
    let used = 0
    while (filled < n) {
      const c = this.pending[used]!
      const part = Math.min(c.length, n - filled)
      c.copy(out, filled, 0, part)
      filled += part
      if (part === c.length) used++
      else this.pending[used] = c.subarray(part)
    }
    this.pending.splice(0, used)
    return out
  }

  /** Stops parsing for good (the connection is closing): later bytes and frames are ignored. */
  stop(): void {
    this.failed = true
    this.pending = []
    this.pendingBytes = 0
  }

  private accept(len: number): boolean {
    if (len <= this.maxFrameBytes) return true
    this.stop()
    this.sink.onError(`frame of ${len} bytes exceeds the limit of ${this.maxFrameBytes}`)
    return false
  }
}
