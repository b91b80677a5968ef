import type { AutoscaleSpec } from '../config/index.ts'

/** What the policy is shown at one tick. */
export interface AutoscaleInput {
  now: number
  /** Instances the unit has now (its slots). */
  instances: number
  /**
   * Why the unit must not be scaled now (a rollout, another operation, a crash loop), or
   * undefined when it may.
   */
  blocked: string | undefined
  /** When the last step (or the unit's start) was: the cooldown runs from there. */
  lastStepAt: number
  /**
   * The measured value over the last `windowMs`, or undefined while the measurements
   * since the last step do not cover that long yet.
   */
  measured(windowMs: number): number | undefined
}

/** A step to take, with the figures that justify it (for the event). */
export interface AutoscaleStep {
  from: number
  to: number
  /** The value measured over `windowMs` (undefined for a step back into bounds). */
  measured: number | undefined
  windowMs: number
  reason: 'above-target' | 'below-target' | 'below-min' | 'above-max'
}

/**
 * The autoscaler's decision at one tick: one step of one instance, or none. Bounds
 * first (a unit outside min..max, e.g. after an operator's `scale`, steps back in), then
 * nothing while `blocked` or within `cooldownMs` of the last step; then out when the
 * value over `outAfterMs` is above the target (and below max), in when the value over
 * `inAfterMs` is below `inBelow` × target (and above min). Between the two it holds:
 * that gap is the hysteresis that keeps one instance more from being removed as soon
 * as it brought the value down.
 *
 * @example
 * const step = decideAutoscale(spec, { now, instances: 2, blocked: undefined, lastStepAt, measured })
 * if (step) await runner.scale(step.to)
 */
export function decideAutoscale(spec: AutoscaleSpec, input: AutoscaleInput): AutoscaleStep | undefined {
  const { instances: from } = input
  if (input.blocked !== undefined) return undefined
  if (from < spec.min) return { from, to: spec.min, measured: undefined, windowMs: 0, reason: 'below-min' }
  if (from > spec.max) return { from, to: spec.max, measured: undefined, windowMs: 0, reason: 'above-max' }
  if (input.now - input.lastStepAt < spec.cooldownMs) return undefined
  const target = spec.target.value
  if (from < spec.max) {
    const measured = input.measured(spec.outAfterMs)
    if (measured !== undefined && measured > target)
      return { from, to: from + 1, measured, windowMs: spec.outAfterMs, reason: 'above-target' }
  }
  if (from > spec.min) {
    const measured = input.measured(spec.inAfterMs)
    if (measured !== undefined && measured < target * spec.inBelow)
      return { from, to: from - 1, measured, windowMs: spec.inAfterMs, reason: 'below-target' }
  }
  return undefined
}
