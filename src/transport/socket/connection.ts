import type { Socket } from 'node:net'
import { decodeEnvelope, type Envelope, encodeEnvelope } from '../../codec/index.ts'
import { TesseraError } from '../../errors/index.ts'
import type { Logger } from '../../observability/index.ts'
import type { NodeInfo } from '../../wire/index.ts'
import { FrameParser } from './frame-parser.ts'
import { FrameWriter } from './frame-writer.ts'

export interface ConnectionEvents {
  /** A decoded, shape-checked envelope. Called synchronously from socket I/O. */
  onEnvelope(conn: Connection, env: Envelope): void
  /**
   * The peer ended its side (FIN) while this side has not: it sends nothing more here,
   * but still reads what this side sends until this side ends too (the socket is half-open).
   */
  onPeerEnded(conn: Connection): void
  /** The socket is gone; called exactly once per connection, with why. */
  onClose(conn: Connection, reason: string): void
}

export interface ConnectionOptions {
  socket: Socket
  /** True when this process dialled; decides which of two duplicate connections survives. */
  outbound: boolean
  /** For outbound connections: the node the discovery file promised. */
  expectedId?: string
  maxFrameBytes: number
  /** How long a graceful `end()` waits for the peer to end its side before destroying the socket. */
  endGraceMs: number
  logger: Logger
  events: ConnectionEvents
}

/**
 * One socket to one peer: framing, write batching and decoding. It knows nothing of
 * the handshake; the transport drives that through `remote` and `onEnvelope`.
 * A protocol error (oversized frame, undecodable frame) closes only this connection.
 */
export class Connection {
  readonly outbound: boolean
  readonly expectedId: string | undefined
  /** The peer's NodeInfo once its HELLO arrived (and, with credentials, its PROOF verified); undefined before. */
  remote: NodeInfo | undefined
  /** With credentials: the nonce this side sent in its HELLO, which the peer's PROOF must sign. */
  nonce: string | undefined
  /**
   * With credentials: the seq of the NodeInfo this side sent in its HELLO, until it sent its
   * PROOF (then undefined). Nothing else may go out in between — the peer would refuse it —
   * so an ANNOUNCE due meanwhile is sent right after the PROOF instead.
   */
  beforeProof: number | undefined
  /** With credentials: the peer's HELLO, kept until its PROOF arrives. */
  unproven: { info: NodeInfo; certificate: string } | undefined
  /** Date.now() when the socket was connected: a HELLO must arrive within the heartbeat timeout. */
  openedAt = Date.now()
  /** Date.now() of the last bytes received; the heartbeat sweep reads it. */
  lastSeen = Date.now()
  /** Set once closing started: sends are refused from then on. */
  closing = false
  /** The peer ended its side (FIN): nothing more arrives here, though it still reads. */
  peerEnded = false
  /** The socket reported an error (e.g. ECONNRESET: the peer closed with our frames unread). */
  errored = false
  /**
   * Set by the peer table once this connection carried the peer's traffic. Frames sent
   * on it may still be unread when it closes, even after another connection took over.
   */
  carried = false
  private closed = false
  private closeReason: string | undefined
  private readonly socket: Socket
  private readonly maxFrameBytes: number
  private readonly endGraceMs: number
  private readonly parser: FrameParser
  private readonly writer: FrameWriter
  private readonly logger: Logger
  private readonly events: ConnectionEvents

  constructor(opts: ConnectionOptions) {
    this.socket = opts.socket
    this.maxFrameBytes = opts.maxFrameBytes
    this.endGraceMs = opts.endGraceMs
    this.outbound = opts.outbound
    this.expectedId = opts.expectedId
    this.logger = opts.logger
    this.events = opts.events
    this.writer = new FrameWriter(this.socket)
    this.parser = new FrameParser(
      {
        onFrame: (body) => this.onFrame(body, 0, body.length),
        onFrameAt: (buf, start, end) => this.onFrame(buf, start, end),
        onError: (reason) => this.fail(reason),
      },
      opts.maxFrameBytes,
    )
    this.socket.setNoDelay?.(true)
    this.socket.on('data', (chunk: Buffer) => {
      this.lastSeen = Date.now()
      this.parser.push(chunk)
    })
    this.socket.on('error', (err) => {
      this.errored = true
      this.closeReason ??= `socket error: ${err.message}`
    })
    this.socket.on('end', () => {
      this.peerEnded = true
      if (!this.closed) this.events.onPeerEnded(this)
    })
    this.socket.on('close', () => this.onSocketClose())
  }

  /** The peer's id once known (HELLO), else what discovery expected, else '?'. */
  get peerId(): string {
    return this.remote?.nodeId ?? this.expectedId ?? '?'
  }

  /**
   * Encodes and queues one envelope. False when the connection is closing. Throws
   * BAD_REQUEST for an unencodable message and PAYLOAD_TOO_LARGE above `maxFrameBytes`
   * (the peer would drop the connection for it); nothing is queued then.
   */
  send(env: Envelope): boolean {
    if (this.closing) return false
    const body = encodeEnvelope(env)
    if (body.length > this.maxFrameBytes) {
      throw new TesseraError(
        'PAYLOAD_TOO_LARGE',
        `message of ${body.length} bytes exceeds ${this.maxFrameBytes}`,
      )
    }
    this.writer.enqueue(body)
    return true
  }

  /** Queues an already encoded body (one encoding shared by many peers). */
  sendEncoded(body: Uint8Array): boolean {
    if (this.closing) return false
    this.writer.enqueue(body)
    return true
  }

  /** Closes at once because the peer broke the protocol; logs the reason as a warning. */
  fail(reason: string): void {
    if (this.closed) return
    this.logger.warn({ peer: this.peerId, reason }, 'closing connection: protocol violation')
    this.destroy(reason)
  }

  /** Closes at once without flushing (timeouts, duplicates that lost). */
  destroy(reason: string): void {
    this.closing = true
    this.closeReason ??= reason
    this.parser.stop()
    this.writer.close()
    this.socket.destroy()
  }

  /**
   * Flushes queued frames, half-closes and resolves when the socket is closed, which is
   * once the peer has ended its side too (it reads until then). A peer that neither reads
   * what is queued nor ends within `endGraceMs` is cut off (destroyed).
   */
  async end(reason: string): Promise<void> {
    if (this.closed) return
    this.closing = true
    this.closeReason ??= reason
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()))
    const timer = setTimeout(() => this.destroy(reason), this.endGraceMs)
    await Promise.race([this.writer.flushed(), closed])
    if (!this.closed) this.socket.end()
    await closed
    clearTimeout(timer)
  }

  private onFrame(buf: Uint8Array, start: number, end: number): void {
    let env: Envelope
    try {
      env = decodeEnvelope(buf, start, end)
    } catch (err) {
      this.fail((err as Error).message)
      return
    }
    this.events.onEnvelope(this, env)
  }

  private onSocketClose(): void {
    if (this.closed) return
    this.closed = true
    this.closing = true
    this.parser.stop()
    this.writer.close()
    this.events.onClose(this, this.closeReason ?? 'connection closed by peer')
  }
}
