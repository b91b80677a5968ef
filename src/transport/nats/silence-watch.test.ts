import { describe, expect, it } from 'vitest'
import { PeerTable } from './peer-table.ts'
import { ANSWER_META, SilenceWatch } from './silence-watch.ts'
import { natsSubjects } from './subjects.ts'

// A watch over peers 'x' (answers pings) and 'old' (does not), on a clock the test moves
// by whole ticks of 100 ms; quiet 200 ms, answer 300 ms.
function setup(inFlight: Record<string, number> = { x: 1, old: 1 }) {
  let now = 1_000
  const peers = new PeerTable(natsSubjects('t', 'me'))
  peers.learn({ nodeId: 'x', seq: 1, services: [], meta: { [ANSWER_META]: 1 } }, '_', now)
  peers.learn({ nodeId: 'old', seq: 1, services: [], meta: {} }, '_', now)
  const asked: Array<{ id: string; n: number; at: number }> = []
  const gone: Array<{ id: string; reason: string; at: number }> = []
  let connected = true
  const watch: SilenceWatch = new SilenceWatch({
    peers,
    tickMs: 100,
    quietMs: 200,
    answerMs: 300,
    connected: () => connected,
    inFlight: (id) => inFlight[id] ?? 0,
    ask: (peer, n) => asked.push({ id: peer.nodeId, n, at: now }),
    gone: (id, reason) => gone.push({ id, reason, at: now }),
    now: () => now,
  })
  watch.start()
  watch.stop() // ticks are driven by the test
  const ticks = (n: number) => {
    for (let i = 0; i < n; i++) {
      now += 100
      watch.tick()
    }
  }
  const stall = (ms: number) => {
    now += ms
    watch.tick()
  }
  return {
    watch,
    peers,
    stall,
    asked,
    gone,
    ticks,
    inFlight,
    disconnect: () => (connected = false),
    heard: (id: string) => (peers.get(id)!.heard = true),
  }
}

describe('SilenceWatch', () => {
  it('asks a silent peer it awaits answers from once, and reports it gone when nothing comes back', () => {
    const s = setup()
    s.ticks(1)
    expect(s.asked).toEqual([])
    s.ticks(1) // silent 200 ms
    expect(s.asked).toEqual([{ id: 'x', n: -1, at: 1_200 }])
    s.ticks(2)
    expect(s.asked).toHaveLength(1)
    expect(s.gone).toEqual([])
    s.ticks(1) // 300 ms after the ping
    expect(s.gone).toEqual([{ id: 'x', reason: expect.stringMatching(/^silent for 500 ms/), at: 1_500 }])
  })

  it('keeps a peer that answers the ping, and asks it again only after another quiet spell', () => {
    const s = setup()
    s.ticks(2)
    expect(s.asked).toHaveLength(1)
    s.heard('x') // its pong (or anything else) arrived
    s.ticks(3)
    expect(s.gone).toEqual([])
    expect(s.asked.map((a) => a.at)).toEqual([1_200, 1_500])
    expect(s.asked[1]!.n).toBe(-2)
  })

  it('never judges a peer that owes nothing, nor one that cannot answer pings', () => {
    const s = setup({ x: 0, old: 3 })
    s.ticks(20)
    expect(s.asked).toEqual([])
    expect(s.gone).toEqual([])
    // A call starts: silence counts from the last tick without one, not from the last message.
    s.inFlight.x = 1
    s.ticks(1)
    expect(s.asked).toEqual([])
    s.ticks(1)
    expect(s.asked.map((a) => a.id)).toEqual(['x'])
  })

  it('asks a peer a hint named, owed nothing, once, and reports it gone when it does not answer', () => {
    const s = setup({ x: 0, old: 0 })
    s.watch.ask(s.peers.get('x')!)
    s.watch.ask(s.peers.get('x')!) // already asked: not again
    s.watch.ask(s.peers.get('old')!) // cannot answer pings: not asked
    expect(s.asked.map((a) => a.id)).toEqual(['x'])
    s.ticks(3)
    expect(s.gone).toEqual([{ id: 'x', reason: 'no answer to a ping in 300 ms', at: 1_300 }])
  })

  it('judges nobody while its own connection is down, nor on the tick after its own stall', () => {
    const s = setup()
    s.ticks(2)
    expect(s.asked).toHaveLength(1)
    s.disconnect()
    s.ticks(10)
    expect(s.gone).toEqual([])

    const t = setup()
    t.ticks(2)
    // This node's event loop stalled 1 s: the pong may be waiting unread in the socket.
    t.stall(1_000)
    expect(t.gone).toEqual([])
    t.heard('x') // read right after the late tick
    t.ticks(1)
    expect(t.gone).toEqual([])
    // A stall with nothing to read: judged on the next tick in time.
    t.ticks(2)
    t.stall(1_000)
    expect(t.gone).toEqual([])
    t.ticks(1)
    expect(t.gone.map((g) => g.id)).toEqual(['x'])
  })
})
