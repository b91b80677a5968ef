import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../middleware/testing/fake-clock.ts'
import type { AutoscaleSpec } from '../config/index.ts'
import { fakeLauncher } from '../launcher/testing/index.ts'
import { describeEvent, type SupervisorEvent } from './events.ts'
import { fakeUnitContext, fakeUnitSpec } from './testing/fake-unit.ts'
import { UnitRunner } from './unit-runner.ts'

const autoscale: AutoscaleSpec = {
  min: 1,
  max: 3,
  target: { metric: 'inFlight', value: 8 },
  cooldownMs: 5000,
  outAfterMs: 3000,
  inAfterMs: 6000,
  inBelow: 0.5,
}

/** An autoscaled unit `users` over fake instances; readings every 1 s (the ping interval). */
function setup() {
  const clock = new FakeClock(1_000_000)
  let hang = false
  const launcher = fakeLauncher(clock, () => (hang ? 'hang' : 'ready'))
  const events: SupervisorEvent[] = []
  const spec = fakeUnitSpec({ autoscale })
  const ctx = fakeUnitContext(launcher, clock, events, { transportDirs: [] })
  const runner = new UnitRunner(spec, ctx)
  /** Every live instance reports `n` handler runs in flight from now on. */
  const load = (n: number) => {
    for (const i of launcher.live()) i.inFlight = n
  }
  const steps = () =>
    events.flatMap((e) => (e.type === 'autoscaled' ? [`${e.from}->${e.to} ${e.reason}`] : []))
  return {
    clock,
    launcher,
    events,
    runner,
    load,
    steps,
    count: () => runner.status().length,
    setHang: (h: boolean) => {
      hang = h
    },
  }
}

describe('autoscaler of a unit (fake launcher, fake clock)', () => {
  it('adds an instance once in-flight stays above target, saying why', async () => {
    const { runner, clock, load, events, count, steps } = setup()
    await runner.start()
    load(12)
    // Covered after 3 s, but the cooldown runs from the start: the step comes at 5 s.
    await clock.advance(4000)
    expect(count()).toBe(1)
    await clock.advance(1000)
    expect(count()).toBe(2)
    expect(steps()).toEqual(['1->2 above-target'])
    const event = events.find((e) => e.type === 'autoscaled')!
    expect(event).toMatchObject({ measured: 12, target: 8, threshold: 8, windowMs: 3000, metric: 'inFlight' })
    expect(describeEvent(event)).toBe(
      'users: autoscale 1 -> 2 instances (in flight per instance 12 over 3000 ms > target 8)',
    )
    expect(runner.status().map((s) => s.state)).toEqual(['ready', 'ready'])
    expect(runner.autoscale?.lastStep).toMatchObject({ from: 1, to: 2, at: 1_005_000 })
    await runner.stop()
  })

  it('holds between the target and its hysteresis line, then drains one below it', async () => {
    const { runner, clock, load, count, steps, launcher } = setup()
    await runner.start()
    load(12)
    await clock.advance(5000)
    expect(count()).toBe(2)
    load(6) // below target 8, above 0.5 × 8: no step however long
    await clock.advance(60_000)
    expect(count()).toBe(2)
    load(3)
    // The scale-in window (6 s) started over at the step; cooldown long passed.
    await clock.advance(6000)
    expect(count()).toBe(1)
    expect(steps()).toEqual(['1->2 above-target', '2->1 below-target'])
    // The highest slot was drained (stop, a planned exit), not killed.
    const second = launcher.launched.find((i) => i.label === 'users#2')!
    expect(second.stops).toBe(1)
    expect(second.signals).toEqual([])
    expect((await second.exited).planned).toBe(true)
    await runner.stop()
  })

  it('takes at most one step per cooldown and never goes above max', async () => {
    const { runner, clock, load, count, steps } = setup()
    await runner.start()
    load(50)
    await clock.advance(5000)
    expect(count()).toBe(2)
    load(50)
    await clock.advance(4000) // within the cooldown of the first step
    expect(count()).toBe(2)
    await clock.advance(1000)
    expect(count()).toBe(3)
    load(50)
    await clock.advance(60_000)
    expect(count()).toBe(3)
    expect(steps()).toEqual(['1->2 above-target', '2->3 above-target'])
    await runner.stop()
  })

  it('never scales while a rollout of the unit runs, and does after it', async () => {
    const { runner, clock, load, count, steps, launcher, setHang } = setup()
    await runner.start()
    setHang(true) // the replacement the restart starts does not get ready yet
    const restart = runner.restart()
    await clock.advance(10)
    load(100)
    await clock.advance(60_000)
    expect(steps()).toEqual([])
    expect(count()).toBe(1)
    setHang(false)
    launcher.launched.at(-1)!.becomeReady()
    await restart
    load(100)
    await clock.advance(1000)
    expect(count()).toBe(2)
    expect(steps()).toEqual(['1->2 above-target'])
    await runner.stop()
  })

  it('steps a unit scaled outside its bounds by hand back in, and stops with the unit', async () => {
    const { runner, clock, count, steps } = setup()
    await runner.start()
    await runner.scale(5)
    await clock.advance(1000)
    expect(count()).toBe(3)
    expect(steps()).toEqual(['5->3 above-max'])
    await runner.stop()
    expect(clock.pending).toBe(0) // no reading left scheduled
    await clock.advance(60_000)
    expect(steps()).toEqual(['5->3 above-max'])
  })
})
