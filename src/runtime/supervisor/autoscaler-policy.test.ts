import { describe, expect, it } from 'vitest'
import type { AutoscaleSpec } from '../config/index.ts'
import { type AutoscaleInput, decideAutoscale } from './autoscaler-policy.ts'

const spec: AutoscaleSpec = {
  min: 1,
  max: 3,
  target: { metric: 'inFlight', value: 8 },
  cooldownMs: 10_000,
  outAfterMs: 3000,
  inAfterMs: 15_000,
  inBelow: 0.5,
}

/** A `measured` that answers `value` and records the windows it was asked for. */
const recording = (value: number, windows: number[]) => (w: number) => {
  windows.push(w)
  return value
}

/** A tick 1 min after the last step, measuring `value` over any window. */
const input = (value: number | undefined, o: Partial<AutoscaleInput> = {}): AutoscaleInput => ({
  now: 60_000,
  instances: 2,
  blocked: undefined,
  lastStepAt: 0,
  measured: () => value,
  ...o,
})

describe('decideAutoscale', () => {
  it('adds one instance when the value over outAfterMs is above the target', () => {
    const windows: number[] = []
    const step = decideAutoscale(spec, input(11, { measured: recording(11, windows) }))
    expect(step).toEqual({ from: 2, to: 3, measured: 11, windowMs: 3000, reason: 'above-target' })
    expect(windows).toEqual([3000])
  })

  it('holds between the target and its hysteresis line, and at the target itself', () => {
    for (const value of [8, 7, 5, 4]) expect(decideAutoscale(spec, input(value))).toBeUndefined()
  })

  it('removes one instance only below inBelow × target over inAfterMs', () => {
    const windows: number[] = []
    const step = decideAutoscale(spec, input(3.9, { measured: recording(3.9, windows) }))
    expect(step).toEqual({ from: 2, to: 1, measured: 3.9, windowMs: 15_000, reason: 'below-target' })
    expect(windows).toEqual([3000, 15_000])
  })

  it('holds while the measurements do not cover the window yet', () => {
    expect(decideAutoscale(spec, input(undefined))).toBeUndefined()
    // Covered for the short scale-out window, not yet for the long scale-in one.
    expect(decideAutoscale(spec, input(0, { measured: (w) => (w <= 3000 ? 0 : undefined) }))).toBeUndefined()
  })

  it('takes no step within cooldownMs of the last one, and one once it passed', () => {
    expect(decideAutoscale(spec, input(20, { now: 9999, lastStepAt: 0 }))).toBeUndefined()
    expect(decideAutoscale(spec, input(20, { now: 10_000, lastStepAt: 0 }))?.to).toBe(3)
  })

  it('never goes above max or below min', () => {
    expect(decideAutoscale(spec, input(100, { instances: 3 }))).toBeUndefined()
    expect(decideAutoscale(spec, input(0, { instances: 1 }))).toBeUndefined()
  })

  it('steps a unit outside its bounds back in, also within the cooldown', () => {
    expect(decideAutoscale(spec, input(0, { instances: 5, now: 1, lastStepAt: 0 }))).toEqual({
      from: 5,
      to: 3,
      measured: undefined,
      windowMs: 0,
      reason: 'above-max',
    })
    expect(decideAutoscale(spec, input(100, { instances: 0 }))?.reason).toBe('below-min')
  })

  it('decides nothing while the unit is blocked (a rollout runs), whatever it measures', () => {
    for (const [value, instances] of [
      [100, 2],
      [0, 2],
      [0, 7],
    ] as const)
      expect(
        decideAutoscale(spec, input(value, { instances, blocked: 'a deploy of users runs' })),
      ).toBeUndefined()
  })

  it('compares a p99 target the same way', () => {
    const p99 = { ...spec, target: { metric: 'p99Ms' as const, value: 50 } }
    expect(decideAutoscale(p99, input(80))?.to).toBe(3)
    expect(decideAutoscale(p99, input(30))).toBeUndefined()
    expect(decideAutoscale(p99, input(20))?.to).toBe(1)
  })
})
