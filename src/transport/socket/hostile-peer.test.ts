import { connect, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { encodeEnvelope } from '../../codec/index.ts'
import { FrameParser } from './frame-parser.ts'
import { type SocketTransport, socketTransport } from './socket-transport.ts'
import { frame, info, type LogRecorder, logRecorder, perTestDir, recorder, until } from './test-support.ts'

const files = perTestDir()
const cleanups = files.cleanups

const hello = (id: string) => frame(encodeEnvelope({ kind: 'hello', info: info(id) }))
const plain = new Packr({ useRecords: false })

async function node(id: string, logger: LogRecorder, opts: Parameters<typeof socketTransport>[0] = {}) {
  const transport: SocketTransport = socketTransport({ dir: files.dir, logger, maxFrameBytes: 1024, ...opts })
  cleanups.push(() => transport.close())
  const rec = recorder()
  await transport.start(info(id), rec)
  return { transport, rec }
}

/** A raw client on `victim`'s socket; resolves when the victim closes the connection. */
function raw(victim: string): { socket: Socket; closed: Promise<void> } {
  const socket = connect({ path: join(files.dir, `${victim}.sock`) })
  socket.on('error', () => {})
  socket.resume()
  cleanups.push(() => socket.destroy())
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  return { socket, closed }
}

const attacks: Array<[string, Buffer, RegExp]> = [
  ['an oversized length prefix', Buffer.from([0xff, 0xff, 0xff, 0xff]), /exceeds the limit/],
  ['garbage instead of msgpack', frame(Buffer.from([0xc1, 0xc1, 0xc1])), /not msgpack/],
  ['msgpack of the wrong shape', frame(plain.pack({ hello: 'world' })), /non-empty array/],
  ['a HELLO with a bad node info', frame(plain.pack([16, { nodeId: 1 }])), /malformed/],
  ['a message before HELLO', frame(encodeEnvelope({ kind: 'ping', n: 1 })), /expected HELLO/],
  ['a second HELLO', Buffer.concat([hello('evil'), hello('evil')]), /second HELLO/],
  ['a request with a wrong id', Buffer.concat([hello('evil'), frame(plain.pack([5, -1]))]), /id must be/],
]

describe('socketTransport against hostile peers', () => {
  it.each(attacks)('closes only the connection that sent %s, logging why', async (_name, bytes, why) => {
    const log = logRecorder()
    const a = await node('a', log)
    const b = await node('b', logRecorder())
    await until(() => a.rec.peers.length === 1, 'b joins a')
    const evil = raw('a')
    evil.socket.write(bytes)
    await evil.closed
    expect(log.warnings.map((w) => (w.obj as { reason: string }).reason)).toEqual([
      expect.stringMatching(why),
    ])
    b.transport.send('a', { kind: 'cancel', id: 1 })
    await until(() => a.rec.messages.length === 1, 'b still served')
    // An attacker that completed a HELLO is reported gone like any peer; b never is.
    expect(a.rec.gone.filter((g) => g.nodeId !== 'evil')).toEqual([])
  })

  it('survives a truncated frame from a client that disconnects', async () => {
    const log = logRecorder()
    const a = await node('a', log)
    const evil = raw('a')
    evil.socket.end(hello('evil').subarray(0, 10))
    await evil.closed
    expect(a.rec.peers).toEqual([])
    expect(a.rec.gone).toEqual([])
  })

  it('declares a peer that answers HELLO and then goes silent gone after the heartbeat timeout', async () => {
    // A fake node that completes the handshake, then never answers a PING: a hung process.
    const seen: Buffer[] = []
    const server: Server = createServer((s) => {
      s.on('data', (c) => seen.push(c))
      s.on('error', () => {})
      s.write(hello('hung'))
    })
    await new Promise<void>((r) => server.listen(join(files.dir, 'hung.sock'), r))
    cleanups.push(() => new Promise((r) => server.close(r)))
    const a = await node('a', logRecorder(), { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 400 })
    await until(() => a.rec.peers.length === 1, 'hung peer seen')
    await until(() => a.rec.gone.length === 1, 'hung peer gone', 3000)
    expect(a.rec.gone[0]!.reason).toMatch(/heartbeat timeout/)
    const kinds: number[] = []
    const parser = new FrameParser({ onFrame: (b) => kinds.push(b[1]!), onError() {} }, 1 << 20)
    for (const c of seen) parser.push(c)
    expect(kinds).toContain(19)
  })
})

describe('socketTransport handshake deadline', () => {
  it('drops a client that trickles bytes but never completes a HELLO', async () => {
    const a = await node('a', logRecorder(), { heartbeatIntervalMs: 50, heartbeatTimeoutMs: 300 })
    const evil = raw('a')
    const bytes = hello('slow')
    let i = 0
    const drip = setInterval(() => evil.socket.write(bytes.subarray(i, ++i)), 20)
    cleanups.push(() => clearInterval(drip))
    await evil.closed
    expect(i).toBeLessThan(bytes.length)
    expect(a.rec.peers).toEqual([])
  })
})
