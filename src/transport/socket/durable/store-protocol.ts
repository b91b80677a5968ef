import type { Socket } from 'node:net'
import type { DurableConsumerSpec, DurableEnvelope } from '../../durable.ts'
import { FrameParser } from '../frame-parser.ts'
import { FrameWriter } from '../frame-writer.ts'

/**
 * The store's protocol, between a node's socket transport and the event store the runtime
 * serves (runtime-internal, not part of docs/protocol.md: both ends are this package).
 * Frames as the socket transport's (`[u32 length][body]`), each body one JSON object.
 * A request carries `id` and is answered by `{ t: 'ok', id, value? }` or
 * `{ t: 'err', id, code, message }`; acks and the like are not answered; `msg` is a
 * delivery from the store (`n`: its number, from 1).
 */
export type ToStore =
  | { t: 'pub'; id: number; env: DurableEnvelope }
  | { t: 'sub'; id: number; spec: DurableConsumerSpec; window: number }
  | { t: 'unsub'; id: number; k: string }
  | { t: 'ack'; k: string; s: number }
  | { t: 'nak'; k: string; s: number; delayMs: number }
  | { t: 'term'; k: string; s: number; n: number; error: string }
  | { t: 'dead'; id: number; service?: string }
  | { t: 'deadEvent'; id: number; key: string }
  | { t: 'replay'; id: number; keys: string[] }
  | { t: 'discard'; id: number; keys: string[] }

export type FromStore =
  | { t: 'ok'; id: number; value?: unknown }
  | { t: 'err'; id: number; code: string; message: string }
  | { t: 'msg'; k: string; s: number; n: number; env: DurableEnvelope }

/** Largest frame either side accepts (an envelope is bounded by the transport's frame limit). */
export const STORE_MAX_FRAME = 64 * 1024 * 1024

/**
 * Frames JSON messages over a socket. `onMessage` gets each decoded object; a frame that
 * is not JSON, or too long, destroys the socket (the other side reconnects).
 */
export function jsonFrames(
  socket: Socket,
  onMessage: (message: unknown) => void,
): { send(m: unknown): void } {
  const writer = new FrameWriter(socket)
  const parser = new FrameParser(
    {
      onFrame(body) {
        let message: unknown
        try {
          message = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8'))
        } catch {
          socket.destroy(new Error('event store frame is not JSON'))
          return
        }
        onMessage(message)
      },
      onError(reason) {
        socket.destroy(new Error(reason))
      },
    },
    STORE_MAX_FRAME,
  )
  socket.on('data', (chunk: Buffer) => parser.push(chunk))
  socket.once('close', () => {
    parser.stop()
    writer.close()
  })
  return { send: (m) => writer.enqueue(Buffer.from(JSON.stringify(m))) }
}
