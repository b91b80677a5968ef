import type { Clock } from '../../context/index.ts'
import type { AutoscaleSpec } from '../config/index.ts'
import type { LaunchedInstance } from '../launcher/index.ts'
import {
  type AutoscaleMeasure,
  type Autoscaler,
  inFlightMeasure,
  type SupervisorEvent,
  startAutoscaler,
} from '../supervisor/index.ts'

/** What one unit's system-wide autoscaler needs from the agent running it. */
export interface HostAutoscaleDeps {
  unit: string
  spec: AutoscaleSpec
  clock: Clock
  /** Time between readings: the agents' renewal period (host records refresh at that pace). */
  intervalMs: number
  /** Handler runs in flight of each ready instance of the unit on every live host, freshest known. */
  figures(): number[]
  /** The system's wanted count (KV), as of the last renewal. */
  wanted(): number
  /** Why not to step now (a move, instances still starting or draining), or undefined. */
  blocked(): string | undefined
  /** Sets the system's count and waits until that many are ready over all hosts (agent `scale`). */
  scale(count: number): Promise<void>
  emit(e: SupervisorEvent): void
  onError(message: string): void
}

/**
 * Autoscaling of a system over many hosts (decision 0022 under agents): the same policy
 * and autoscaler as on one machine, fed with every host's instances and stepping the
 * system's wanted count, so the placement puts the new instance wherever it allows. Only
 * the agent holding the unit's slot 1 runs it (agent.ts): a lease JetStream already
 * decides, so no two agents step one unit, and when that host is lost the next holder of
 * slot 1 takes over with fresh readings. Only the `inFlight` target: the instances'
 * figures travel in the host records; a p99 would need every remote instance's histogram.
 */
export function startHostAutoscaler(d: HostAutoscaleDeps): Autoscaler {
  const keepMs = Math.max(d.spec.outAfterMs, d.spec.inAfterMs)
  const base = inFlightMeasure(d.clock.now(), keepMs)
  // inFlightMeasure reads only `inFlight` of what it is given; remote instances are figures.
  const measure: AutoscaleMeasure = {
    sample: (at) =>
      base.sample(
        at,
        d.figures().map((inFlight) => ({ inFlight }) as LaunchedInstance),
      ),
    over: (at, windowMs) => base.over(at, windowMs),
    reset: (at) => base.reset(at),
  }
  return startAutoscaler({
    spec: d.spec,
    host: {
      name: d.unit,
      count: () => d.wanted(),
      serving: () => [],
      blocked: () => d.blocked(),
      scale: (count) => d.scale(count),
    },
    clock: d.clock,
    intervalMs: d.intervalMs,
    emit: (e) => d.emit(e),
    onError: (m) => d.onError(m),
    measure,
  })
}
