import { connect, type Socket } from 'node:net'
import type { Envelope } from '../codec/index.ts'
import { PROBE_SERVICE } from './environment.ts'
import { frameOf, type Received, readBody } from './wire-frame.ts'

export type Address = { path: string } | { host: string; port: number }

/**
 * The runner's end of one socket connection to the node under test, speaking raw
 * frames: it records everything the node sends (also what Tessera's decoder refuses),
 * when the node ended its side (FIN) and when the socket closed, and sends exactly what
 * a rule asks for, in order. Half-open like a Tessera node (docs/protocol.md §4.4).
 */
export class RawConnection {
  readonly received: Received[] = []
  /** When the node ended its side (FIN), if it did. */
  endedAt: number | undefined
  closedAt: number | undefined
  /** Bytes after the last whole frame when the node closed (a frame cut off). */
  private buffer: Buffer = Buffer.alloc(0)
  private waiters = new Set<() => void>()
  /**
   * Behave as a live peer: answer PING with PONG and `probe.echo` requests with their
   * input. Off for a connection that must look silent.
   */
  autoAnswer = true

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('end', () => {
      this.endedAt = Date.now()
      this.wake()
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      this.closedAt = Date.now()
      this.wake()
    })
  }

  /** Connects (rejects after `timeoutMs` or on a failed connect). */
  static open(address: Address, timeoutMs = 3000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ ...address, allowHalfOpen: true })
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error(`connect timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        resolve(new RawConnection(socket))
      })
      socket.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
  }

  /** Wraps a socket the node under test dialled to the runner. */
  static accepted(socket: Socket): RawConnection {
    return new RawConnection(socket)
  }

  send(env: Envelope): void {
    if (!this.socket.writableEnded && !this.socket.destroyed) this.socket.write(frameOf(env))
  }

  sendBytes(bytes: Uint8Array): void {
    if (!this.socket.writableEnded && !this.socket.destroyed) this.socket.write(bytes)
  }

  /** Half-closes (FIN); keeps reading. */
  end(): void {
    if (!this.socket.destroyed) this.socket.end()
  }

  destroy(): void {
    this.socket.destroy()
  }

  get closed(): boolean {
    return this.closedAt !== undefined
  }

  /**
   * The first message received at index `from` or later that matches, waiting up to `ms`.
   * Rejects with `what` when none comes in time, or when the node ends the connection first.
   */
  async next(match: (r: Received) => boolean, ms: number, what: string, from = 0): Promise<Received> {
    const deadline = Date.now() + ms
    for (;;) {
      const found = this.received.slice(from).find(match)
      if (found) return found
      if (this.endedAt !== undefined || this.closed)
        throw new Error(`${what}: the node ended the connection first`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${what}: nothing within ${ms} ms`)
      await this.wait(left)
    }
  }

  /** Sends a PING and waits up to 3 s for its PONG; rejects naming `what` otherwise. */
  async pingPong(what: string): Promise<void> {
    const n = Math.floor(Math.random() * 1e6)
    const mark = this.received.length
    this.send({ kind: 'ping', n })
    await this.next((r) => r.env?.kind === 'pong' && r.env.n === n, 3000, `PONG on ${what}`, mark)
  }

  /** Resolves once the node ends its side or the socket closes, or after `ms`; says which. */
  async ending(ms: number): Promise<'fin' | 'closed' | 'timeout'> {
    const deadline = Date.now() + ms
    for (;;) {
      if (this.endedAt !== undefined) return 'fin'
      if (this.closed) return 'closed'
      const left = deadline - Date.now()
      if (left <= 0) return 'timeout'
      await this.wait(left)
    }
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.waiters.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.waiters.add(done)
    })
  }

  private wake(): void {
    for (const w of [...this.waiters]) w()
  }

  private answer(got: Received): void {
    const env = got.env
    if (env?.kind === 'ping') this.send({ kind: 'pong', n: env.n })
    else if (env?.kind === 'request' && env.service === PROBE_SERVICE && env.action === 'echo')
      this.send({ kind: 'response', id: env.id, ok: true, output: env.input })
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    while (this.buffer.length >= 4) {
      const len = this.buffer.readUInt32BE(0)
      if (this.buffer.length < 4 + len) break
      const got = readBody(this.buffer.subarray(4, 4 + len))
      this.received.push(got)
      this.buffer = this.buffer.subarray(4 + len)
      if (this.autoAnswer) this.answer(got)
    }
    this.wake()
  }
}
