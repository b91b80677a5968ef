import { connect } from 'node:net'
import { BatchWriter, frameReader, packr } from './raw-frames.ts'

export interface RawClient {
  call(input: unknown): Promise<unknown>
  close(): void
}

/** A client of peers/raw-echo.ts: one socket, requests matched to responses by id. */
export async function rawClient(path: string): Promise<RawClient> {
  const socket = connect(path)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.setNoDelay(true)
  const waiting = new Map<number, (value: unknown) => void>()
  const out = new BatchWriter(socket)
  let nextId = 1
  socket.on(
    'data',
    frameReader((body) => {
      const res = packr.unpack(body) as [number, number, unknown]
      const resolve = waiting.get(res[1])
      waiting.delete(res[1])
      resolve?.(res[2])
    }),
  )
  return {
    call(input) {
      const id = nextId++
      const ctx = {
        requestId: '0af7651916cd43dd8448eb211c80319c',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        timeout: 10_000,
      }
      out.send(packr.pack([1, id, 'echo', 'ping', ctx, input]))
      return new Promise((resolve) => waiting.set(id, resolve))
    },
    close: () => socket.destroy(),
  }
}
