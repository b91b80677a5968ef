// The "raw" reference: length-prefixed msgpack frames of the same request/response
// shape as Tessera's (docs/protocol.md), with none of its routing, validation or
// bookkeeping. Both the echo server and its client use these pieces.
import type { Socket } from 'node:net'
import { Packr } from 'msgpackr'

export const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true })

/** Writes every frame queued in one event-loop turn with a single `write`. */
export class BatchWriter {
  #queue: Uint8Array[] = []
  #bytes = 0
  #scheduled = false

  constructor(private readonly socket: Socket) {}

  send(body: Uint8Array): void {
    this.#queue.push(body)
    this.#bytes += body.length + 4
    if (!this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(this.#flush)
    }
  }

  readonly #flush = (): void => {
    this.#scheduled = false
    const buf = Buffer.allocUnsafe(this.#bytes)
    let pos = 0
    for (const body of this.#queue) {
      buf.writeUInt32BE(body.length, pos)
      buf.set(body, pos + 4)
      pos += body.length + 4
    }
    this.#queue = []
    this.#bytes = 0
    this.socket.write(buf)
  }
}

/** Splits a byte stream into frame bodies (no limits: both ends are ours). */
export function frameReader(onFrame: (body: Buffer) => void): (chunk: Buffer) => void {
  let rest: Buffer | undefined
  return (chunk) => {
    let buf = rest ? Buffer.concat([rest, chunk]) : chunk
    rest = undefined
    let pos = 0
    while (buf.length - pos >= 4) {
      const len = buf.readUInt32BE(pos)
      if (buf.length - pos - 4 < len) break
      onFrame(buf.subarray(pos + 4, pos + 4 + len))
      pos += 4 + len
    }
    if (pos < buf.length) rest = buf.subarray(pos)
    buf = rest ?? buf
  }
}
