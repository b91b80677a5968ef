import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { connect } from 'nats'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, startNatsServer } from '../../../test/support/nats-server.ts'
import { decodeEnvelope } from '../../codec/index.ts'
import type { Message, WireContext } from '../../wire/index.ts'
import type { Transport } from '../transport.ts'
import { natsTransport } from './index.ts'
import { nodeInfo, recorder, waitFor } from './testing/recorder.ts'

const fixture = fileURLToPath(new URL('./testing/peer-process.ts', import.meta.url))
const ctx: WireContext = { requestId: 'r-1', traceparent: '00-abc-def-01', timeout: 1000 }

let server: NatsServer
let namespaceNo = 0
const open: Transport[] = []
const children: ChildProcess[] = []

beforeAll(async () => {
  server = await startNatsServer()
})
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
  await Promise.all(open.splice(0).map((t) => t.close()))
})
afterAll(async () => {
  await server?.stop()
})

// Starts the fixture node in its own process and resolves once it printed "ready".
async function spawnPeer(nodeId: string, namespace: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, NATS_URL: server.url, NODE_ID: nodeId, NAMESPACE: namespace },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`peer process exited early with ${code}`)))
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve()
    })
  })
  return child
}

async function killed(child: ChildProcess): Promise<number> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGKILL')
  await exited
  return Date.now()
}

async function observer(namespace: string, nodeId = 'observer') {
  const t = natsTransport({ servers: server.url, namespace })
  open.push(t)
  const rec = recorder()
  await t.start(nodeInfo(nodeId), rec.handlers)
  return { t, rec }
}

describe('natsTransport liveness', () => {
  it('reports a SIGKILLed peer process gone within about 2 s, from a probe the server answers "no responders"', async () => {
    const namespace = `live${++namespaceNo}`
    const { rec } = await observer(namespace)
    const child = await spawnPeer('victim', namespace)
    await waitFor(() => rec.peers.some((p) => p.nodeId === 'victim'), 'the peer to join', 10_000)

    const at = await killed(child)
    const gone = await waitFor(
      () => rec.gone.find((g) => g.nodeId === 'victim'),
      'the peer to be gone',
      10_000,
    )
    // Both nodes announce probing (decision 0023): no heartbeats between them, the
    // observer's probe round finds the victim's subscriptions gone.
    expect(gone.reason).toMatch(/no responders/)
    // Reported, not asserted tightly: expected up to 1.4 s (one jittered probe round).
    console.info(`SIGKILLed peer reported gone after ${gone.at - at} ms`)
  }, 30_000)

  it('fails a send to a SIGKILLed peer fast through "no responders", before the heartbeat timeout', async () => {
    const namespace = `live${++namespaceNo}`
    const { t, rec } = await observer(namespace)
    const child = await spawnPeer('victim', namespace)
    await waitFor(() => rec.peers.some((p) => p.nodeId === 'victim'), 'the peer to join', 10_000)
    // The peer works: it echoes a request.
    t.send('victim', { kind: 'request', id: 1, service: 'echo', action: 'say', input: 'hi', ctx })
    await waitFor(() => rec.messages.some((m) => m.message.kind === 'response'), 'the echo', 10_000)

    const at = await killed(child)
    // Keep calling, as a broker under load would; the first call after the server
    // noticed the dropped TCP connection is answered "no responders".
    let id = 2
    const gone = await waitFor(
      () => {
        t.send('victim', { kind: 'request', id: id++, service: 'echo', action: 'say', input: 'hi', ctx })
        return rec.gone.find((g) => g.nodeId === 'victim')
      },
      'the peer to be gone',
      10_000,
    )
    expect(gone.reason).toBe('no responders')
    expect(t.send('victim', { kind: 'cancel', id: 1 })).toBe(false)
    console.info(`send to SIGKILLed peer failed after ${gone.at - at} ms`)
  }, 30_000)

  // A frozen process keeps its NATS connection (the server pings clients every 2 min),
  // so probes never get a 503: the same as a host cut off by a partition (decision 0030).
  it('reports a frozen peer it awaits answers from gone within 2 s, hints the others, and learns it again once it speaks', async () => {
    const namespace = `live${++namespaceNo}`
    const { t, rec } = await observer(namespace)
    const other = await observer(namespace, 'other-observer') // awaits nothing from the peer
    const child = await spawnPeer('frozen', namespace)
    await waitFor(() => rec.peers.some((p) => p.nodeId === 'frozen'), 'the peer to join', 10_000)
    await waitFor(() => other.rec.peers.some((p) => p.nodeId === 'frozen'), 'the other to see it', 10_000)
    rec.inFlight = 1 // the broker awaits an answer from it from now on
    t.send('frozen', { kind: 'request', id: 1, service: 'echo', action: 'say', input: 'hi', ctx })
    await waitFor(() => rec.messages.some((m) => m.message.kind === 'response'), 'the echo', 10_000)

    child.kill('SIGSTOP')
    const at = Date.now()
    const gone = await waitFor(
      () => rec.gone.find((g) => g.nodeId === 'frozen'),
      'the peer to be gone',
      10_000,
    )
    expect(gone.reason).toMatch(/^silent for \d+ ms with calls in flight, no answer to a ping/)
    // The other observer was told on the gone subject, asked the peer itself, got nothing.
    const hinted = await waitFor(
      () => other.rec.gone.find((g) => g.nodeId === 'frozen'),
      'the other observer to drop it',
      10_000,
    )
    expect(hinted.reason).toMatch(/^no answer to a ping in \d+ ms$/)
    console.info(
      `frozen peer reported gone after ${gone.at - at} ms, by the hinted observer after ${hinted.at - at} ms`,
    )

    // Thawed, it answers the ping it missed: it is asked for its info and learnt again.
    const before = rec.peers.length
    child.kill('SIGCONT')
    await waitFor(() => rec.peers.slice(before).some((p) => p.nodeId === 'frozen'), 'the peer again', 10_000)
    t.send('frozen', { kind: 'request', id: 2, service: 'echo', action: 'say', input: 'back', ctx })
    await waitFor(
      () => rec.messages.some((m) => m.message.kind === 'response' && m.message.id === 2),
      'an echo after the thaw',
      10_000,
    )
  }, 30_000)

  it('sends no liveness ping at rest; keeps a peer it awaits answers from that answers its pings', async () => {
    const namespace = `live${++namespaceNo}`
    const { rec } = await observer(namespace)
    await spawnPeer('idle', namespace)
    await waitFor(() => rec.peers.some((p) => p.nodeId === 'idle'), 'the peer to join', 10_000)
    const watcher = await connect({ servers: server.url })
    const seen = { pings: 0, pongs: 0 }
    watcher.subscribe(`tessera.${namespace}.node.>`, {
      callback: (_e, m) => {
        const env = decodeEnvelope(m.data)
        if (env.kind === 'ping' && env.n < 0) seen.pings++
        if (env.kind === 'pong') seen.pongs++
      },
    })
    await watcher.flush()
    try {
      await new Promise((r) => setTimeout(r, 2000))
      expect(seen).toEqual({ pings: 0, pongs: 0 }) // no calls in flight: nothing sent
      rec.inFlight = 1 // a call the peer is slow to answer
      await new Promise((r) => setTimeout(r, 3000))
      rec.inFlight = 0
      // Every ping answered (the last pong may still be on its way).
      await waitFor(() => seen.pongs === seen.pings, 'a pong for every ping', 5000)
      // quietMs 500 + up to a tick, then the pong restarts the quiet spell: at most 6 in 3 s.
      expect(seen.pings).toBeGreaterThan(0)
      expect(seen.pings).toBeLessThanOrEqual(6)
    } finally {
      await watcher.close()
    }
    expect(rec.gone).toEqual([])
  }, 30_000)

  it('reports a peer process that is stopped with SIGTERM gone through its BYE', async () => {
    const namespace = `live${++namespaceNo}`
    const { rec } = await observer(namespace)
    const child = await spawnPeer('leaver', namespace)
    await waitFor(() => rec.peers.some((p) => p.nodeId === 'leaver'), 'the peer to join', 10_000)
    child.kill('SIGTERM')
    const gone = await waitFor(
      () => rec.gone.find((g) => g.nodeId === 'leaver'),
      'the peer to be gone',
      10_000,
    )
    expect(gone.reason).toBe('said bye')
  }, 30_000)

  it('reconnects both nodes after a nats-server restart and keeps them as peers', async () => {
    const namespace = `live${++namespaceNo}`
    const a = natsTransport({ servers: server.url, namespace })
    const b = natsTransport({ servers: server.url, namespace })
    open.push(a, b)
    const ra = recorder()
    const rb = recorder()
    await a.start(nodeInfo('node-a'), ra.handlers)
    await b.start(nodeInfo('node-b'), rb.handlers)
    await waitFor(() => ra.peers.some((p) => p.nodeId === 'node-b'), 'a to see b')
    await waitFor(() => rb.peers.some((p) => p.nodeId === 'node-a'), 'b to see a')

    await server.restart()

    // Messages flow again in both directions once both have reconnected.
    await waitFor(
      () => {
        a.send('node-b', { kind: 'cancel', id: 1 })
        b.send('node-a', { kind: 'cancel', id: 2 })
        return ra.messages.length > 0 && rb.messages.length > 0
      },
      'messages to flow after the restart',
      15_000,
    )
    // A brief bounce is not a departure: nobody was reported gone.
    await new Promise((resolve) => setTimeout(resolve, 2000))
    expect(ra.gone).toEqual([])
    expect(rb.gone).toEqual([])
    expect(a.send('node-b', { kind: 'cancel', id: 3 })).toBe(true)
  }, 30_000)

  // nats.js discards whatever is published while disconnected (every dial resets its
  // outbound buffer): before the transport held messages itself, these were lost.
  it('holds what is sent while the server is down and delivers it in order once the peer is back', async () => {
    const namespace = `live${++namespaceNo}`
    const a = natsTransport({ servers: server.url, namespace })
    const b = natsTransport({ servers: server.url, namespace })
    open.push(a, b)
    const ra = recorder()
    const rb = recorder()
    await a.start(nodeInfo('node-a'), ra.handlers)
    await b.start(nodeInfo('node-b'), rb.handlers)
    await waitFor(() => ra.peers.some((p) => p.nodeId === 'node-b'), 'a to see b')

    await server.kill()
    await waitFor(() => ra.linkLost.length > 0, 'a to notice the drop', 10_000)
    expect(ra.linkLost).toEqual([{ nodeId: 'node-b', reason: 'the NATS connection dropped' }])
    const request = (id: number): Message => ({
      kind: 'request',
      id,
      service: 'echo',
      action: 'say',
      input: id,
      ctx: { ...ctx, timeout: 20_000 },
    })
    for (const id of [1, 2, 3]) expect(a.send('node-b', request(id))).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    await server.restart()

    const got = await waitFor(() => rb.messages.length >= 3 && rb.messages, 'the held requests', 15_000)
    expect(got.map((m) => (m.message.kind === 'request' ? m.message.id : -1))).toEqual([1, 2, 3])
    expect(ra.undelivered).toEqual([])
    expect(ra.gone).toEqual([])
  }, 30_000)

  it('gives up a held request as undelivered before its deadline, and never sends it', async () => {
    const namespace = `live${++namespaceNo}`
    const a = natsTransport({ servers: server.url, namespace })
    const b = natsTransport({ servers: server.url, namespace })
    open.push(a, b)
    const ra = recorder()
    const rb = recorder()
    await a.start(nodeInfo('node-a'), ra.handlers)
    await b.start(nodeInfo('node-b'), rb.handlers)
    await waitFor(() => ra.peers.some((p) => p.nodeId === 'node-b'), 'a to see b')

    await server.kill()
    await waitFor(() => ra.linkLost.length > 0, 'a to notice the drop', 10_000)
    const short: Message = {
      kind: 'request',
      id: 7,
      service: 'echo',
      action: 'say',
      input: 7,
      ctx: { ...ctx, timeout: 300 },
    }
    expect(a.send('node-b', short)).toBe(true)
    await waitFor(() => ra.undelivered.length > 0, 'the request to be given up', 5_000)
    expect(ra.undelivered).toEqual([
      { nodeId: 'node-b', requestId: 7, reason: expect.stringMatching(/deadline/) },
    ])

    await server.restart()
    // Once a hears b again, a later message goes through, and the given-up one never did.
    await waitFor(
      () => {
        a.send('node-b', { kind: 'cancel', id: 8 })
        return rb.messages.length > 0
      },
      'messages to flow after the restart',
      15_000,
    )
    expect(rb.messages.some((m) => m.message.kind === 'request')).toBe(false)
  }, 30_000)
})
