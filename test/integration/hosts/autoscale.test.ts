import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NatsServer } from '../../support/nats-server.ts'
import type { SlowService } from './fixtures/slow.ts'
import {
  CALM_LEASE,
  cluster,
  fixtures,
  openLoad,
  readyByHost,
  sleep,
  startJetStream,
  until,
} from './support.ts'

let nats: NatsServer
beforeAll(async () => {
  nats = await startJetStream()
})
afterAll(() => nats?.stop())

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0)

describe('an autoscaled unit in a system over two hosts', () => {
  it('scales out over the hosts under load and back in when it ends, failing no call', {
    timeout: 180_000,
  }, async () => {
    // 200 ms calls: 40/s keep ~8 in flight, 8 per instance at 1, 4 at 2, 2.7 at 3 (max).
    await using sys = await cluster(nats, {
      slow: {
        entry: `${fixtures}slow.ts`,
        autoscale: {
          min: 1,
          max: 3,
          target: { inFlight: 2 },
          cooldownMs: 1000,
          outAfterMs: 1500,
          inAfterMs: 3000,
        },
      },
    })
    await Promise.all(['a', 'b'].map((h) => sys.startAgent(h, undefined, undefined, CALM_LEASE)))
    await until(
      '1 ready slow instance',
      30_000,
      async () => total(readyByHost(await sys.status('a'), 'slow')) === 1,
    )

    const client = await sys.client()
    await client.waitFor(['slow'], 10_000)
    const slow = client.client<SlowService>('slow')
    const load = openLoad('scale', 40, (key) => slow.wait({ key }, { timeout: 5000 }))
    const startedAt = Date.now()
    let spread: Record<string, number> = {}
    await until('3 ready instances over both hosts', 60_000, async () => {
      spread = readyByHost(await sys.status('a'), 'slow')
      return total(spread) === 3
    })
    const outMs = Date.now() - startedAt
    await sleep(1000)
    const t = await load.stop()
    const stoppedAt = Date.now()
    await until('back to 1 instance', 60_000, async () => {
      const s = await sys.status('b')
      return s.units[0]!.instances.length === 1 && total(readyByHost(s, 'slow')) === 1
    })
    const inMs = Date.now() - stoppedAt
    const steps = [...sys.agents.values()].flatMap((a) => a.output.filter((l) => l.includes('autoscale ')))
    console.info(
      `autoscale over hosts: 1 -> 3 in ${outMs} ms under load (${JSON.stringify(spread)}), back to 1 in ${inMs} ms after it; ${t.ok}/${t.issued} calls ok ${JSON.stringify(t.failed)}; steps: ${steps.join(' | ')}`,
    )

    expect(t.failed).toEqual({})
    expect(t.ok).toBe(t.issued)
    expect(spread.a).toBeGreaterThanOrEqual(1)
    expect(spread.b).toBeGreaterThanOrEqual(1)
    // Every step said why, from one agent (the holder of slot 1).
    expect(steps.filter((l) => l.includes('1 -> 2') && l.includes('in flight per instance'))).toHaveLength(1)
    expect(steps.some((l) => l.includes('2 -> 3'))).toBe(true)
    expect(steps.some((l) => l.includes('3 -> 2'))).toBe(true)
    expect(steps.some((l) => l.includes('2 -> 1'))).toBe(true)
  })
})
