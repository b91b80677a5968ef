import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Message } from '../../wire/index.ts'
import { type SocketTransport, socketTransport } from './socket-transport.ts'
import { ctx, info, type Recorder, recorder, removeDir, tempDir, until } from './test-support.ts'

let dir: string
const open: SocketTransport[] = []

beforeEach(async () => {
  dir = await tempDir()
})

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()))
  await removeDir(dir)
})

async function node(id: string, opts: Parameters<typeof socketTransport>[0] = {}) {
  const transport = socketTransport({ dir, ...opts })
  open.push(transport)
  const rec = recorder()
  await transport.start(info(id), rec)
  return { transport, rec }
}

async function pair(opts: Parameters<typeof socketTransport>[0] = {}) {
  const a = await node('a', opts)
  const b = await node('b', opts)
  await until(() => a.rec.peers.length > 0 && b.rec.peers.length > 0, 'both peers')
  return { a, b }
}

function payloads(rec: Recorder): unknown[] {
  return rec.messages.map((m) => m.message)
}

const all: Message[] = [
  { kind: 'request', id: 1, service: 'math', action: 'add', input: { a: 1, b: 2 }, ctx },
  { kind: 'response', id: 1, ok: true, output: 3 },
  { kind: 'response', id: 2, ok: false, error: { code: 'NOT_FOUND', message: 'no', data: { id: 7 } } },
  { kind: 'event', event: 'user.created', payload: { id: 'u1' }, groups: ['mail'], ctx },
  { kind: 'cancel', id: 1 },
]

describe('socketTransport', () => {
  it('discovers a peer and exchanges every message kind both ways', async () => {
    const { a, b } = await pair()
    expect(a.rec.peers.map((p) => p.nodeId)).toEqual(['b'])
    expect(b.rec.peers.map((p) => p.nodeId)).toEqual(['a'])
    for (const m of all) expect(a.transport.send('b', m)).toBe(true)
    for (const m of all) expect(b.transport.send('a', m)).toBe(true)
    await until(() => a.rec.messages.length === 5 && b.rec.messages.length === 5, 'messages')
    expect(payloads(b.rec)).toEqual(all)
    expect(payloads(a.rec)).toEqual(all)
    expect(b.rec.messages.every((m) => m.from === 'a')).toBe(true)
  })

  it('returns false when sending to an unknown peer', async () => {
    const { transport } = await node('alone')
    expect(transport.send('nobody', { kind: 'cancel', id: 1 })).toBe(false)
  })

  it('round-trips an 8 MB payload', async () => {
    const { a, b } = await pair()
    const blob = Buffer.alloc(8 * 1024 * 1024, 0xab)
    a.transport.send('b', { kind: 'response', id: 9, ok: true, output: blob })
    await until(() => b.rec.messages.length === 1, '8 MB message', 10_000)
    const got = b.rec.messages[0]!.message as { output: Uint8Array }
    expect(Buffer.from(got.output).equals(blob)).toBe(true)
  })

  it('keeps thousands of messages to one peer in order', async () => {
    const { a, b } = await pair()
    const n = 20_000
    for (let i = 0; i < n; i++) a.transport.send('b', { kind: 'cancel', id: i })
    await until(() => b.rec.messages.length === n, 'all messages', 10_000)
    expect(b.rec.messages.map((m) => (m.message as { id: number }).id)).toEqual([...Array(n).keys()])
  })

  it('delivers announcements with a newer seq and ignores older ones', async () => {
    const { a, b } = await pair()
    a.transport.announce(info('a', 2))
    a.transport.announce(info('a', 1))
    a.transport.send('b', { kind: 'cancel', id: 0 })
    await until(() => b.rec.messages.length === 1, 'marker message')
    expect(b.rec.peers.map((p) => p.seq)).toEqual([1, 2])
  })

  it('reports a closing peer gone once, with BYE, and close is idempotent', async () => {
    const { a, b } = await pair()
    await Promise.all([a.transport.close(), a.transport.close()])
    await a.transport.close()
    await until(() => b.rec.gone.length === 1, 'peer gone')
    expect(b.rec.gone).toEqual([{ nodeId: 'a', reason: 'peer left (bye)' }])
    expect(await readdir(dir)).toEqual(['b.sock'])
    expect(b.transport.send('a', { kind: 'cancel', id: 1 })).toBe(false)
    await new Promise((r) => setTimeout(r, 50))
    expect(b.rec.gone).toHaveLength(1)
  })

  it('keeps one connection per pair when nodes start at the same moment', async () => {
    for (let round = 0; round < 5; round++) {
      const ids = [`x${round}`, `y${round}`]
      const [x, y] = await Promise.all(ids.map((id) => node(id)))
      await until(() => x!.rec.peers.length > 0 && y!.rec.peers.length > 0, 'peers')
      x!.transport.send(ids[1]!, { kind: 'cancel', id: round })
      y!.transport.send(ids[0]!, { kind: 'cancel', id: round })
      await until(() => x!.rec.messages.length === 1 && y!.rec.messages.length === 1, 'messages')
      await new Promise((r) => setTimeout(r, 20))
      expect(x!.rec.gone).toEqual([])
      expect(y!.rec.gone).toEqual([])
      expect(x!.rec.peers).toHaveLength(1)
      expect(y!.rec.peers).toHaveLength(1)
      await Promise.all([x!.transport.close(), y!.transport.close()])
    }
  })

  it('removes a stale socket file nobody listens on', async () => {
    await writeFile(join(dir, 'ghost.sock'), '')
    await node('live')
    const files = await readdir(dir)
    expect(files).toEqual(['live.sock'])
  })

  it('rejects starting a second live node with the same nodeId', async () => {
    await node('same')
    const dup = socketTransport({ dir })
    open.push(dup)
    await expect(dup.start(info('same'), recorder())).rejects.toThrow(/already running/)
  })

  it('works over TCP on 127.0.0.1 with the address published as JSON', async () => {
    const { a, b } = await pair({ tcp: { host: '127.0.0.1' } })
    expect((await readdir(dir)).sort()).toEqual(['a.json', 'b.json'])
    a.transport.send('b', all[0]!)
    await until(() => b.rec.messages.length === 1, 'tcp message')
    expect(payloads(b.rec)).toEqual([all[0]])
    await a.transport.close()
    await until(() => b.rec.gone.length === 1, 'tcp peer gone')
    expect(await readdir(dir)).toEqual(['b.json'])
  })

  it('lets a Unix-socket node and a TCP node find each other', async () => {
    const a = await node('u')
    const b = await node('t', { tcp: { host: '127.0.0.1' } })
    await until(() => a.rec.peers.length > 0 && b.rec.peers.length > 0, 'mixed peers')
    b.transport.send('u', { kind: 'cancel', id: 5 })
    await until(() => a.rec.messages.length === 1, 'mixed message')
  })
})

describe('socketTransport send limits', () => {
  it('throws PAYLOAD_TOO_LARGE for a message above maxFrameBytes and keeps the connection', async () => {
    const { a, b } = await pair({ maxFrameBytes: 1000 })
    expect(() =>
      a.transport.send('b', { kind: 'response', id: 1, ok: true, output: 'x'.repeat(2000) }),
    ).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }))
    a.transport.send('b', { kind: 'cancel', id: 2 })
    await until(() => b.rec.messages.length === 1, 'later message')
    expect(a.rec.gone).toEqual([])
  })
})
