import { connect, type NatsConnection } from 'nats'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, startNatsServer } from '../../../test/support/nats-server.ts'
import { encodeEnvelope } from '../../codec/index.ts'
import type { NodeInfo } from '../../wire/index.ts'
import type { Transport } from '../transport.ts'
import { natsTransport } from './index.ts'
import { PROBE_META } from './probe-share.ts'
import { natsSubjects } from './subjects.ts'
import { nodeInfo, type Recorder, recorder, waitFor } from './testing/recorder.ts'

// The probing rules of decision 0023 between real transports and raw peers on a real server.
let server: NatsServer
let ns = 0
const open: Transport[] = []
const raws: NatsConnection[] = []

beforeAll(async () => {
  server = await startNatsServer()
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()))
  await Promise.all(raws.splice(0).map((nc) => nc.close().catch(() => {})))
})
afterAll(async () => {
  await server?.stop()
})

async function node(namespace: string, nodeId: string): Promise<Recorder> {
  const t = natsTransport({ servers: server.url, namespace, probeMs: 100 })
  open.push(t)
  const rec = recorder()
  await t.start(nodeInfo(nodeId), rec.handlers)
  return rec
}

/** A peer on a connection of its own that answers HELLOs and, with `probe`, announces PROBE_META. */
async function rawPeer(namespace: string, nodeId: string, probe: boolean) {
  const nc = await connect({ servers: server.url })
  raws.push(nc)
  const s = natsSubjects(namespace, nodeId)
  const info: NodeInfo = { ...nodeInfo(nodeId), meta: probe ? { [PROBE_META]: 1 } : {} }
  const answer = (subject: string) => {
    const [unit, from] = subject.split('.').slice(-2)
    nc.publish(s.toPeer(unit!, from!), encodeEnvelope({ kind: 'announce', info }))
  }
  nc.subscribe(s.inbox, { callback: (_e, m) => m.data[1] === 0x10 && answer(m.subject) })
  nc.subscribe(s.discovery, {
    callback: (_e, m) => !m.subject.endsWith(`.${nodeId}`) && m.data[1] === 0x10 && answer(m.subject),
  })
  await nc.flush()
  nc.publish(s.ownDiscovery, encodeEnvelope({ kind: 'hello', info }))
  return { nc, subjects: s, ping: () => nc.publish(s.ownDiscovery, encodeEnvelope({ kind: 'ping', n: 1 })) }
}

const knows = (rec: Recorder, id: string) =>
  rec.peers.some((p) => p.nodeId === id) && !rec.gone.some((g) => g.nodeId === id)

describe('natsTransport probing (decision 0023)', () => {
  it('sends no heartbeats between two probing nodes', async () => {
    const namespace = `probe${++ns}`
    const a = await node(namespace, 'a')
    const b = await node(namespace, 'b')
    await waitFor(() => knows(a, 'b') && knows(b, 'a'), 'a and b to know each other')
    const watcher = await connect({ servers: server.url })
    raws.push(watcher)
    let pings = 0
    watcher.subscribe(`tessera.${namespace}.discovery.*.*`, {
      callback: (_e, m) => m.data[1] === 0x13 && pings++,
    })
    await watcher.flush()
    await new Promise((r) => setTimeout(r, 1500))
    expect(pings).toBe(0)
    expect(knows(a, 'b') && knows(b, 'a')).toBe(true)
  })

  it('finds a probed peer whose connection closed without BYE, and tells the other watcher', async () => {
    const namespace = `probe${++ns}`
    const a = await node(namespace, 'a')
    const b = await node(namespace, 'b')
    const x = await rawPeer(namespace, 'x', true)
    await waitFor(() => knows(a, 'x') && knows(b, 'x'), 'both to know x')
    // Only one of a and b owns x; the other learns of it from the gone hint (probed peers
    // are never expired by silence, so without the hint it would keep x).
    await x.nc.close()
    await waitFor(() => !knows(a, 'x') && !knows(b, 'x'), 'x to leave both', 5000)
    for (const rec of [a, b]) expect(rec.gone.find((g) => g.nodeId === 'x')?.reason).toBe('no responders')
  })

  it('does not believe a gone hint about a live peer: the peer stays', async () => {
    const namespace = `probe${++ns}`
    const a = await node(namespace, 'a')
    await rawPeer(namespace, 'x', true)
    await waitFor(() => knows(a, 'x'), 'a to know x')
    const liar = await connect({ servers: server.url })
    raws.push(liar)
    liar.publish(`tessera.${namespace}.gone._.liar`, encodeEnvelope({ kind: 'bye', nodeId: 'x' }))
    await liar.flush()
    await new Promise((r) => setTimeout(r, 500))
    expect(knows(a, 'x')).toBe(true)
  })

  it('judges an older peer (no probe key) by silence, and heartbeats while it knows one', async () => {
    const namespace = `probe${++ns}`
    const a = await node(namespace, 'a')
    const old = await rawPeer(namespace, 'old', false)
    let pings = 0
    old.nc.subscribe(`tessera.${namespace}.discovery._.a`, {
      callback: (_e, m) => m.data[1] === 0x13 && pings++,
    })
    const beat = setInterval(old.ping, 200)
    try {
      await waitFor(() => knows(a, 'old') && pings >= 2, 'a to know old and heartbeat to it')
    } finally {
      clearInterval(beat)
    }
    const gone = await waitFor(() => a.gone.find((g) => g.nodeId === 'old'), 'old to be gone', 5000)
    expect(gone.reason).toMatch(/no heartbeat/)
  })
})
