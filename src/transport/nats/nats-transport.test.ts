import { connect, type NatsConnection } from 'nats'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, startNatsServer } from '../../../test/support/nats-server.ts'
import { decodeEnvelope, encodeEnvelope } from '../../codec/index.ts'
import { isTesseraError } from '../../errors/index.ts'
import type { Message, WireContext } from '../../wire/index.ts'
import type { Transport } from '../transport.ts'
import { natsTransport } from './index.ts'
import { capturingLogger, nodeInfo, type Recorder, recorder, waitFor } from './testing/recorder.ts'

const ctx: WireContext = { requestId: 'r-1', traceparent: '00-abc-def-01', timeout: 1000 }

let server: NatsServer
let namespaceNo = 0
const open: Transport[] = []

beforeAll(async () => {
  server = await startNatsServer()
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()))
})
afterAll(async () => {
  await server?.stop()
})

// Each test gets its own namespace, so peers from one test never see another's.
async function pair(options: { maxPayload?: number } = {}) {
  const namespace = `t${++namespaceNo}`
  const logger = capturingLogger()
  const a = natsTransport({ servers: server.url, namespace, ...options })
  const b = natsTransport({ servers: server.url, namespace, logger })
  open.push(a, b)
  const ra = recorder()
  const rb = recorder()
  await a.start(nodeInfo('node-a'), ra.handlers)
  await b.start(nodeInfo('node-b'), rb.handlers)
  await waitFor(() => ra.peers.some((p) => p.nodeId === 'node-b'), 'a to see b')
  await waitFor(() => rb.peers.some((p) => p.nodeId === 'node-a'), 'b to see a')
  return { a, b, ra, rb, namespace, logger }
}

function received(rec: Recorder, count: number) {
  return waitFor(() => rec.messages.length >= count && rec.messages, `${count} messages`, 15_000)
}

describe('natsTransport', () => {
  it('delivers every message kind between two nodes, with the sender id', async () => {
    const { a, b, rb, ra } = await pair()
    const sent: Message[] = [
      { kind: 'request', id: 1, service: 'echo', action: 'say', input: { text: 'hi' }, ctx },
      { kind: 'response', id: 1, ok: true, output: [1, 'two', { three: 3 }] },
      {
        kind: 'response',
        id: 2,
        ok: false,
        error: { code: 'NOT_FOUND', message: 'no such user', data: { id: 7 } },
      },
      { kind: 'event', event: 'user.created', payload: { id: 7 }, groups: ['mailer'], ctx },
      { kind: 'cancel', id: 1 },
    ]
    for (const m of sent) expect(a.send('node-b', m)).toBe(true)
    const got = await received(rb, sent.length)
    expect(got.map((r) => r.from)).toEqual(sent.map(() => 'node-a'))
    expect(got.map((r) => r.message)).toEqual(sent)

    expect(b.send('node-a', { kind: 'cancel', id: 9 })).toBe(true)
    await received(ra, 1)
    expect(ra.messages[0]).toEqual({ from: 'node-b', message: { kind: 'cancel', id: 9 } })
  })

  it('carries an 8 MB payload intact', async () => {
    const { a, rb } = await pair()
    const input = new Uint8Array(8 * 1024 * 1024).map((_, i) => i % 251)
    expect(a.send('node-b', { kind: 'request', id: 1, service: 'blob', action: 'put', input, ctx })).toBe(
      true,
    )
    const [got] = await received(rb, 1)
    const message = got!.message
    if (message.kind !== 'request') throw new Error(`expected a request, got ${message.kind}`)
    expect(Buffer.from(message.input as Uint8Array).equals(Buffer.from(input))).toBe(true)
  })

  it('keeps thousands of messages to one peer in order', async () => {
    const { a, rb } = await pair()
    const count = 5000
    for (let i = 0; i < count; i++) {
      a.send('node-b', { kind: 'event', event: 'tick', payload: i, groups: ['g'], ctx })
    }
    const got = await received(rb, count)
    expect(got.map((r) => (r.message.kind === 'event' ? r.message.payload : -1))).toEqual(
      Array.from({ length: count }, (_, i) => i),
    )
  })

  it('returns false for an unknown peer and throws PAYLOAD_TOO_LARGE above maxPayload', async () => {
    const { a } = await pair({ maxPayload: 1024 })
    expect(a.send('nobody', { kind: 'cancel', id: 1 })).toBe(false)
    let thrown: unknown
    try {
      a.send('node-b', { kind: 'event', event: 'big', payload: 'x'.repeat(2048), groups: [], ctx })
    } catch (err) {
      thrown = err
    }
    expect(isTesseraError(thrown, 'PAYLOAD_TOO_LARGE')).toBe(true)
  })

  it('reports a re-announced node with its new seq', async () => {
    const { b, ra } = await pair()
    b.announce(nodeInfo('node-b', 2))
    await waitFor(() => ra.peers.some((p) => p.nodeId === 'node-b' && p.seq === 2), 'seq 2 of b')
  })

  it('reports a closing peer gone at once through its BYE, and closes idempotently', async () => {
    const { a, b, ra } = await pair()
    const closed = Date.now()
    const first = b.close()
    expect(b.close()).toBe(first)
    await first
    const gone = await waitFor(() => ra.gone.find((g) => g.nodeId === 'node-b'), 'b to be gone')
    expect(gone.reason).toBe('said bye')
    // Well under the heartbeat timeout: BYE, not silence, removed it.
    expect(gone.at - closed).toBeLessThan(1500)
    expect(a.send('node-b', { kind: 'cancel', id: 1 })).toBe(false)
    expect(b.send('node-a', { kind: 'cancel', id: 1 })).toBe(false)
  })

  it('closes without having started, and refuses a second start', async () => {
    await natsTransport({ servers: server.url }).close()
    const { a } = await pair()
    await expect(a.start(nodeInfo('node-a'), recorder().handlers)).rejects.toMatchObject({ code: 'CONFLICT' })
  })

  it('drops malformed bytes with a warning and keeps working', async () => {
    const { a, rb, logger, namespace } = await pair()
    const raw: NatsConnection = await connect({ servers: server.url })
    try {
      raw.publish(`tessera.${namespace}.node._.node-b._.node-a`, new Uint8Array([0xc1, 0xff, 0x00]))
      raw.publish(
        `tessera.${namespace}.node._.node-b._.node-a`,
        encodeEnvelope({ kind: 'cancel', id: 1 }).subarray(0, 1),
      )
      raw.publish(
        `tessera.${namespace}.node._.node-b._.node-a`,
        new TextEncoder().encode('{"kind":"request"}'),
      )
      raw.publish(`tessera.${namespace}.discovery._.node-x`, new Uint8Array([1, 2, 3]))
      await raw.flush()
    } finally {
      await raw.close()
    }
    await waitFor(() => logger.warnings.length >= 4, 'four warnings')
    expect(logger.warnings.every((w) => w.includes('dropped'))).toBe(true)
    expect(a.send('node-b', { kind: 'cancel', id: 42 })).toBe(true)
    const got = await received(rb, 1)
    expect(got).toEqual([{ from: 'node-a', message: { kind: 'cancel', id: 42 } }])
  })

  it('sends one NATS message per peer per turn, and bare envelopes to a peer without batches', async () => {
    const { a, rb, namespace } = await pair()
    const raw: NatsConnection = await connect({ servers: server.url })
    try {
      const wire: { to: string; data: Uint8Array }[] = []
      raw.subscribe(`tessera.${namespace}.node.*.*._.node-a`, {
        callback: (_e, m) => wire.push({ to: m.subject.split('.')[4]!, data: m.data }),
      })
      // An older node: announces itself without "tessera.nats.batch" in its meta.
      raw.publish(
        `tessera.${namespace}.discovery._.old`,
        encodeEnvelope({ kind: 'hello', info: nodeInfo('old') }),
      )
      await raw.flush()
      await waitFor(() => a.send('old', { kind: 'cancel', id: 0 }), 'a to learn the old node')
      for (let id = 1; id <= 3; id++) {
        expect(a.send('node-b', { kind: 'cancel', id })).toBe(true)
        expect(a.send('old', { kind: 'cancel', id })).toBe(true)
      }
      const got = await received(rb, 3)
      expect(got.map((m) => m.message)).toEqual([1, 2, 3].map((id) => ({ kind: 'cancel', id })))
      const toOld = () => wire.filter((w) => w.to === 'old').map((w) => decodeEnvelope(w.data))
      await waitFor(
        () => toOld().filter((m) => m.kind === 'cancel').length === 4,
        '4 cancels to the old node',
      )
      expect(toOld().filter((m) => m.kind === 'cancel')).toEqual(
        [0, 1, 2, 3].map((id) => ({ kind: 'cancel', id })),
      )
      expect(wire.filter((w) => w.to === 'node-b').map((w) => w.data[0])).toEqual([0xc1])
    } finally {
      await raw.close()
    }
  })
})
