// Raw echo server: listens on the Unix socket given in RAW_SOCKET, decodes every
// request frame and answers `[2, id, input]`, batching its writes per turn.
import { createServer } from 'node:net'
import { BatchWriter, frameReader, packr } from '../lib/raw-frames.ts'

const path = process.env.RAW_SOCKET
if (!path) throw new Error('RAW_SOCKET is required')
const server = createServer((socket) => {
  socket.setNoDelay(true)
  const out = new BatchWriter(socket)
  socket.on(
    'data',
    frameReader((body) => {
      const req = packr.unpack(body) as [number, number, string, string, unknown, unknown]
      out.send(packr.pack([2, req[1], req[5]]))
    }),
  )
  socket.on('error', () => {})
})
process.on('SIGTERM', () => process.exit(0))
server.listen(path, () => process.stdout.write('ready\n'))
