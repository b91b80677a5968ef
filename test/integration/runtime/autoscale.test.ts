import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { SupervisorEvent } from '../../../src/runtime/index.ts'
import type { UsersService } from './fixtures/users.ts'
import { runSystem, sleep, startLoad, until } from './support.ts'

type Autoscaled = SupervisorEvent & { type: 'autoscaled' }

describe('autoscaling a unit by in-flight calls', () => {
  it('grows under a load ramp, shrinks back once it stops, and fails no call', {
    timeout: 90_000,
  }, async () => {
    await using sys = await runSystem({
      name: 'autoscale',
      // Readings every 250 ms (the ping interval), short windows: the test runs in ~20 s.
      health: { pingIntervalMs: 250 },
      services: {
        users: {
          entry: './users.ts',
          autoscale: {
            min: 1,
            max: 3,
            target: { inFlight: 4 },
            cooldownMs: 1500,
            outAfterMs: 1000,
            inAfterMs: 2000,
          },
        },
      },
    })
    const users = sys.client.client<UsersService>('users')
    const steps = () => sys.events.filter((e): e is Autoscaled => e.type === 'autoscaled')
    const count = () => sys.sup.status().units[0]!.instances.length
    expect(count()).toBe(1) // starts at min

    // Ramp: 3 callers (below target), then 12 (three times the target for one instance).
    const pids = new Set<number>()
    const touch = async () => pids.add(await users.touch({ delayMs: 100 }))
    const light = startLoad(touch, 3)
    await sleep(3000)
    expect(steps()).toEqual([])
    const heavy = startLoad(touch, 9)
    await until(
      () => count() === 3 && sys.sup.status().units[0]!.instances.every((i) => i.state === 'ready'),
      'three serving instances',
      30_000,
    )
    await sleep(2000) // 4 in flight per instance at max: held there
    expect(count()).toBe(3)
    const grown = steps()
    expect(grown.map((e) => `${e.from}->${e.to} ${e.reason}`)).toEqual([
      '1->2 above-target',
      '2->3 above-target',
    ])
    for (const e of grown) {
      expect(e.measured).toBeGreaterThan(4)
      expect(e).toMatchObject({ metric: 'inFlight', target: 4, threshold: 4, windowMs: 1000 })
    }

    const results = [await heavy.stop(), await light.stop()]
    await until(() => count() === 1, 'back to one instance', 30_000)
    const all = steps().map((e) => `${e.from}->${e.to} ${e.reason}`)
    expect(all).toEqual(['1->2 above-target', '2->3 above-target', '3->2 below-target', '2->1 below-target'])
    for (const e of steps().slice(2)) expect(e.measured).toBeLessThan(2)

    // Every call was answered, by more than one process while the load ran.
    expect(results.flatMap((r) => r.failures)).toEqual([])
    expect(results.reduce((n, r) => n + r.ok, 0)).toBeGreaterThan(200)
    expect(pids.size).toBe(3)
    // Scale-in drained: the removed instances stopped, none crashed.
    expect(sys.events.filter((e) => e.type === 'crashed')).toEqual([])
    // (`stopped` comes once the drained instance exited, after its slot went.)
    await until(() => sys.events.filter((e) => e.type === 'stopped').length === 2, 'two drained instances')
    expect(sys.events.filter((e) => e.type === 'crashed')).toEqual([])
    expect(sys.sup.status().units[0]!.autoscale?.lastStep).toMatchObject({
      from: 2,
      to: 1,
      reason: 'below-target',
    })
    // Each decision is in the unit's log with its figures.
    const log = await readFile(join(sys.sup.logsDir, 'users.log'), 'utf8')
    expect(log).toMatch(
      /autoscale 1 -> 2 instances \(in flight per instance [\d.]+ over 1000 ms > target 4\)/,
    )
    expect(log).toMatch(
      /autoscale 2 -> 1 instances \(in flight per instance [\d.]+ over 2000 ms < 2 \(hysteresis of target 4\)\)/,
    )
  })

  it('reads p99 from the instances’ handle-duration histograms: out while calls are slow, in once idle', {
    timeout: 60_000,
  }, async () => {
    await using sys = await runSystem({
      name: 'autoscale-p99',
      health: { pingIntervalMs: 250 },
      services: {
        users: {
          entry: './users.ts',
          autoscale: {
            min: 1,
            max: 2,
            target: { p99Ms: 100 },
            cooldownMs: 1000,
            outAfterMs: 1000,
            inAfterMs: 1500,
          },
        },
      },
    })
    const users = sys.client.client<UsersService>('users')
    const steps = () => sys.events.filter((e): e is Autoscaled => e.type === 'autoscaled')
    const count = () => sys.sup.status().units[0]!.instances.length
    // Fast calls first: p99 far below 100 ms, nothing happens.
    const fast = startLoad(() => users.touch({ delayMs: 0 }), 2)
    await sleep(2500)
    expect(steps()).toEqual([])
    await fast.stop()
    // 150 ms handlers: their p99 (within the 100–250 ms bucket) is above the target.
    const slow = startLoad(() => users.touch({ delayMs: 150 }), 4)
    await until(() => count() === 2, 'a second instance', 20_000)
    const out = steps()[0]!
    expect(out).toMatchObject({ from: 1, to: 2, reason: 'above-target', metric: 'p99Ms', target: 100 })
    expect(out.measured).toBeGreaterThan(100)
    expect(out.measured).toBeLessThanOrEqual(250)
    const result = await slow.stop()
    // No calls: nothing is slow, p99 measures 0 and the unit goes back to min.
    await until(() => count() === 1, 'back to one instance', 20_000)
    expect(steps().map((e) => `${e.from}->${e.to} ${e.reason} ${e.measured}`)).toEqual([
      `1->2 above-target ${out.measured}`,
      '2->1 below-target 0',
    ])
    expect(result.failures).toEqual([])
  })
})
