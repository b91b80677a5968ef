import type { Clock } from '../../context/index.ts'
import type { AutoscaleSpec } from '../config/index.ts'
import type { LaunchedInstance } from '../launcher/index.ts'
import { type AutoscaleMeasure, inFlightMeasure, p99Measure } from './autoscaler-measure.ts'
import { type AutoscaleStep, decideAutoscale } from './autoscaler-policy.ts'
import type { SupervisorEvent } from './events.ts'

/** The unit as its autoscaler sees it (a `UnitRunner`). */
export interface AutoscaleHost {
  readonly name: string
  /** Instances it has now (slots, serving or not). */
  count(): number
  /** Its instances that serve: the ones measured. */
  serving(): LaunchedInstance[]
  /** Why it must not be scaled now (an operation runs, it crash-loops), or undefined. */
  blocked(): string | undefined
  /** Adds or drains instances, as `Supervisor.scale` does; queued behind other operations. */
  scale(count: number): Promise<void>
}

export interface AutoscalerOptions {
  spec: AutoscaleSpec
  host: AutoscaleHost
  clock: Clock
  /** Time between readings (the supervisor: `health.pingIntervalMs`, when pongs refresh `inFlight`). */
  intervalMs: number
  emit(e: SupervisorEvent): void
  /** A scale that failed (the step is dropped; the next tick decides again). */
  onError(message: string): void
  /** Where the figure comes from; default by `spec.target.metric` (`inFlightMeasure`, `p99Measure`). */
  measure?: AutoscaleMeasure
}

/** What `tessera status` shows of an autoscaled unit. */
export interface AutoscaleStatus {
  min: number
  max: number
  target: AutoscaleSpec['target']
  /** The value over `outAfterMs` as of the last reading, if covered. */
  measured: number | undefined
  /** The last step taken, and when (the autoscaler's clock). */
  lastStep: (AutoscaleStep & { at: number }) | undefined
}

export interface Autoscaler {
  status(): AutoscaleStatus
  /** Stops reading and deciding; a step under way finishes. Idempotent. */
  stop(): void
}

/**
 * Runs one unit's autoscaling: every `intervalMs` a reading of its serving instances,
 * then `decideAutoscale`; a step is announced (`autoscaled`, with the figures) and then
 * taken through `host.scale`, so scale-in drains like any scale. The next reading waits
 * for the step to finish; the cooldown and the windows run from the step's end (readings
 * taken with the old number of instances are forgotten). Starts counting from its
 * creation: the unit's start is the first "step".
 *
 * @example
 * const autoscaler = startAutoscaler({ spec, host, clock: systemClock, intervalMs: 1000, emit, onError })
 * autoscaler.stop()
 */
export function startAutoscaler(options: AutoscalerOptions): Autoscaler {
  const { spec, host, clock, intervalMs } = options
  const keepMs = Math.max(spec.outAfterMs, spec.inAfterMs)
  const measure =
    options.measure ??
    (spec.target.metric === 'inFlight'
      ? inFlightMeasure(clock.now(), keepMs)
      : p99Measure(clock.now(), keepMs, Math.min(1000, intervalMs)))
  let lastStepAt = clock.now()
  let lastStep: (AutoscaleStep & { at: number }) | undefined
  let measured: number | undefined
  let timer: unknown
  let stopped = false

  const tick = async (): Promise<void> => {
    await measure.sample(clock.now(), host.serving())
    if (stopped) return
    const now = clock.now()
    measured = measure.over(now, spec.outAfterMs)
    const step = decideAutoscale(spec, {
      now,
      instances: host.count(),
      blocked: host.blocked(),
      lastStepAt,
      measured: (windowMs) => measure.over(now, windowMs),
    })
    if (!step) return
    lastStep = { ...step, at: now }
    options.emit({
      type: 'autoscaled',
      unit: host.name,
      from: step.from,
      to: step.to,
      reason: step.reason,
      metric: spec.target.metric,
      measured: step.measured,
      target: spec.target.value,
      threshold: step.reason === 'below-target' ? spec.target.value * spec.inBelow : spec.target.value,
      windowMs: step.windowMs,
    })
    try {
      await host.scale(step.to)
    } catch (err) {
      options.onError(`autoscale ${step.from} -> ${step.to} failed: ${(err as Error).message}`)
    }
    lastStepAt = clock.now()
    measure.reset(lastStepAt)
    measured = undefined
  }

  const schedule = (): void => {
    if (stopped) return
    timer = clock.setTimeout(() => {
      tick().then(schedule, (err: Error) => {
        options.onError(`autoscale reading failed: ${err.message}`)
        schedule()
      })
    }, intervalMs)
  }
  schedule()

  return {
    status: () => ({ min: spec.min, max: spec.max, target: spec.target, measured, lastStep }),
    stop() {
      stopped = true
      clock.clearTimeout(timer)
    },
  }
}
