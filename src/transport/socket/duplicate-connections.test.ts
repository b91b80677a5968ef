import { connect, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeEnvelope, type Envelope, encodeEnvelope } from '../../codec/index.ts'
import type { RequestMessage } from '../../wire/index.ts'
import { FrameParser } from './frame-parser.ts'
import { type SocketTransport, socketTransport } from './socket-transport.ts'
import { ctx, frame, info, perTestDir, recorder, until } from './test-support.ts'

/**
 * A scripted peer 'node-a' against a real transport 'node-b'. Between them the connection
 * dialled by node-a (the lower nodeId) is the one both keep, so node-a can drop the one
 * node-b dialled at the moments the real race produces.
 */

const files = perTestDir()
const cleanups = files.cleanups

const envelope = (env: Envelope): Buffer => frame(encodeEnvelope(env))

/** One scripted connection: what arrived on it, and whether it closed. */
interface Scripted {
  socket: Socket
  received: Envelope[]
  closed: boolean
}

function script(socket: Socket): Scripted {
  const s: Scripted = { socket, received: [], closed: false }
  const parser = new FrameParser(
    {
      onFrame: (body) => s.received.push(decodeEnvelope(body)),
      onError: (why) => socket.destroy(new Error(why)),
    },
    1 << 20,
  )
  socket.on('data', (chunk: Buffer) => parser.push(chunk))
  socket.on('error', () => {})
  socket.on('close', () => {
    s.closed = true
  })
  cleanups.push(() => socket.destroy())
  return s
}

/** node-a's listener: greets each connection node-b dials with HELLO, and hands it out. */
async function listenAsNodeA(): Promise<{ server: Server; next: () => Promise<Scripted> }> {
  const waiting: Array<(s: Scripted) => void> = []
  const arrived: Scripted[] = []
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const s = script(socket)
    socket.write(envelope({ kind: 'hello', info: info('node-a') }))
    const w = waiting.shift()
    if (w) w(s)
    else arrived.push(s)
  })
  await new Promise<void>((resolve) => server.listen(join(files.dir, 'node-a.sock'), resolve))
  cleanups.push(() => new Promise((resolve) => server.close(resolve)))
  return {
    server,
    next: () => {
      const s = arrived.shift()
      return s ? Promise.resolve(s) : new Promise((resolve) => waiting.push(resolve))
    },
  }
}

async function nodeB(heartbeatTimeoutMs = 3000) {
  const transport: SocketTransport = socketTransport({
    dir: files.dir,
    rescanIntervalMs: 50,
    heartbeatTimeoutMs,
  })
  cleanups.push(() => transport.close())
  const rec = recorder()
  await transport.start(info('node-b'), rec)
  return { transport, rec }
}

const request = (id: number): RequestMessage => ({
  kind: 'request',
  id,
  service: 'math',
  action: 'add',
  input: id,
  ctx,
})
const requestIds = (s: Scripted) => s.received.flatMap((e) => (e.kind === 'request' ? [e.id] : []))

/** node-b dials node-a, both say HELLO: node-b's traffic to node-a rides on `dialledByB`. */
async function connected() {
  const a = await listenAsNodeA()
  const b = await nodeB()
  const dialledByB = await a.next()
  await until(() => b.rec.peers.some((p) => p.nodeId === 'node-a'), 'node-b knows node-a')
  return { a, b, dialledByB }
}

/** node-a dials node-b too and waits for node-b's HELLO on it (not yet answering with its own). */
async function secondConnection(): Promise<Scripted> {
  const dialledByA = script(connect({ path: join(files.dir, 'node-b.sock'), allowHalfOpen: true }))
  await until(
    () => dialledByA.received.some((e) => e.kind === 'hello'),
    'node-b greets the second connection',
  )
  return dialledByA
}

describe('socketTransport: a pair with two connections at once', () => {
  it('delivers what is sent on the dropped connection after the peer ended it, before the other took over', async () => {
    const { b, dialledByB } = await connected()
    const dialledByA = await secondConnection()

    // node-a drops node-b's connection (its FIN) before node-b has seen the one node-a keeps.
    dialledByB.socket.end()
    await new Promise((r) => setTimeout(r, 50))
    expect(b.transport.send('node-a', request(7))).toBe(true)
    await until(() => requestIds(dialledByB).includes(7), 'request 7 read on the dropped connection')

    // node-a's HELLO on the kept connection: node-b switches and ends the dropped one.
    dialledByA.socket.write(envelope({ kind: 'hello', info: info('node-a') }))
    await until(() => dialledByB.closed, 'the dropped connection closes once both ended it')
    expect(b.transport.send('node-a', request(8))).toBe(true)
    await until(() => requestIds(dialledByA).includes(8), 'request 8 on the kept connection')
    expect(b.rec.gone).toEqual([])
  })

  it('reports the peer gone at once when it ends its only connection', async () => {
    // A heartbeat far longer than the test: only noticing the FIN itself can pass.
    const a = await listenAsNodeA()
    const b = await nodeB(60_000)
    const dialledByB = await a.next()
    await until(() => b.rec.peers.length === 1, 'node-b knows node-a')
    dialledByB.socket.end()
    await until(() => b.rec.gone.length === 1, 'node-a reported gone')
    expect(b.transport.send('node-a', request(1))).toBe(false)
  })

  it('reports the peer gone when it ends a connection and the only other one proves to be someone else', async () => {
    const { b, dialledByB } = await connected()
    const stranger = await secondConnection()
    dialledByB.socket.end()
    await new Promise((r) => setTimeout(r, 50))
    expect(b.rec.gone).toEqual([])
    stranger.socket.write(envelope({ kind: 'hello', info: info('node-c') }))
    await until(() => b.rec.gone.some((g) => g.nodeId === 'node-a'), 'node-a reported gone')
    expect(b.rec.peers.map((p) => p.nodeId)).toEqual(['node-a', 'node-c'])
  })

  it('reports the peer gone and back when a dropped connection is cut off with frames unread', async () => {
    const { b, dialledByB } = await connected()
    // node-a stops reading node-b's connection; node-b's big request stays unread in the
    // socket (a paused stream still reads ahead ~16 KiB into memory, so 1 MiB it is).
    dialledByB.socket.pause()
    const big: RequestMessage = { ...request(9), input: 'x'.repeat(1 << 20) }
    expect(b.transport.send('node-a', big)).toBe(true)
    await new Promise((r) => setTimeout(r, 50))
    const dialledByA = await secondConnection()
    dialledByA.socket.write(envelope({ kind: 'hello', info: info('node-a', 2) }))
    await until(() => b.rec.peers.length === 2, 'node-a announced again on the kept connection')
    // node-a throws the dropped connection away without reading it: request 9 is lost.
    dialledByB.socket.destroy()
    await until(() => b.rec.gone.length === 1, 'node-a reported gone for the lost frames')
    expect(b.rec.gone[0]!.reason).toMatch(/frames possibly unread/)
    expect(b.rec.peers.map((p) => p.nodeId)).toEqual(['node-a', 'node-a', 'node-a'])
    expect(b.transport.send('node-a', request(10))).toBe(true)
    await until(() => requestIds(dialledByA).includes(10), 'request 10 on the kept connection')
  })
})
