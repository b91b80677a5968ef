import { describe, expect, it } from 'vitest'
import { PeerTable } from './peer-table.ts'
import { PROBE_META, WATCH_META } from './probe-share.ts'
import { Prober } from './prober.ts'
import { natsSubjects } from './subjects.ts'

function table(peers: Array<{ id: string; probe?: boolean; watch?: boolean }>): PeerTable {
  const t = new PeerTable(natsSubjects('t', 'me'))
  for (const p of peers) {
    const meta: Record<string, number> = {}
    if (p.probe) meta[PROBE_META] = 1
    if (p.watch) meta[WATCH_META] = 1
    t.learn({ nodeId: p.id, seq: 1, services: [], meta }, '_', Date.now())
  }
  return t
}

function prober(peers: PeerTable, connected = true) {
  const probed: string[] = []
  const p = new Prober({
    peers,
    me: 'me',
    probeMs: 1000,
    connected: () => connected,
    probe: (peer) => probed.push(peer.nodeId),
  })
  return { p, probed }
}

describe('Prober', () => {
  it('probes every probed peer when it is the only watcher, and none that judges by silence', () => {
    const peers = table([{ id: 'x', probe: true }, { id: 'y', probe: true }, { id: 'old' }])
    const { p, probed } = prober(peers)
    expect(p.round()).toBe(2)
    expect(probed.sort()).toEqual(['x', 'y'])
    expect(p.owns('x')).toBe(true)
  })

  it('probes only its share beside other watchers, and those watchers too', () => {
    const ids = Array.from({ length: 300 }, (_, i) => ({ id: `n${i}`, probe: true }))
    const peers = table([
      ...ids,
      { id: 'w1', probe: true, watch: true },
      { id: 'w2', probe: true, watch: true },
    ])
    const { p, probed } = prober(peers)
    p.round()
    expect(probed.length).toBeGreaterThan(50)
    expect(probed.length).toBeLessThan(200)
    for (const id of probed) expect(p.owns(id)).toBe(true)
    expect(probed).not.toContain('me')
  })

  it('skips unreachable peers and probes nothing while disconnected', () => {
    const peers = table([
      { id: 'x', probe: true },
      { id: 'y', probe: true },
    ])
    peers.get('y')!.reachable = false
    expect(prober(peers).p.round()).toBe(1)
    expect(prober(peers, false).p.round()).toBe(0)
  })

  it('takes over a departed watcher share in one round soon after, however often asked', async () => {
    const peers = table([
      { id: 'x', probe: true },
      { id: 'w', probe: true, watch: true },
    ])
    const { p, probed } = prober(peers)
    p.start()
    peers.remove('w')
    p.soon()
    p.soon()
    await new Promise((r) => setImmediate(r))
    p.stop()
    expect(probed).toEqual(['x'])
  })
})
