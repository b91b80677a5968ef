import { createInstanceMetrics, type InstanceMetrics, renderSystemMetrics } from '../../metrics/index.ts'
import type { UnitRunner, UnitState } from './unit-runner.ts'

/** How long one scrape waits for instances: a hung one is left out, the scrape goes on. */
export const METRICS_TIMEOUT_MS = 1000

const UNIT_STATES = [
  'running',
  'crash-loop',
  'build-failed',
  'stopping',
  'stopped',
] as const satisfies readonly UnitState[]

export interface ScrapeOptions {
  system: string
  runners: Iterable<UnitRunner>
  /** Told of each instance that did not answer in time (the supervisor logs it). */
  onSkipped(unit: string, instance: string): void
  timeoutMs?: number
}

/**
 * The system's Prometheus exposition: every live instance is asked over IPC at once, and
 * whatever answered within `timeoutMs` is labelled with its unit and instance and merged
 * with the supervisor's own series (restarts, unit and instance states, the supervisor
 * process itself). A scrape therefore takes at most about `timeoutMs`, whichever
 * instance hangs.
 */
export function metricsScraper(): (options: ScrapeOptions) => Promise<{ contentType: string; text: string }> {
  // The supervisor's own process metrics, made on the first scrape: a system nobody
  // scrapes pays nothing for them.
  let own: InstanceMetrics | undefined
  return async (options) => {
    own ??= createInstanceMetrics()
    const timeoutMs = options.timeoutMs ?? METRICS_TIMEOUT_MS
    const runners = [...options.runners]
    const asked = runners.flatMap((r) =>
      r
        .instances()
        .filter((inst) => inst.state.type !== 'exited')
        .map((inst) => ({ unit: r.spec.name, instance: inst.label, inst })),
    )
    const [answers, supervisor] = await Promise.all([
      Promise.all(asked.map((a) => a.inst.metrics(timeoutMs))),
      own.snapshot(),
    ])
    const instances = asked.map((a, i) => {
      const metrics = answers[i]
      if (!metrics) options.onSkipped(a.unit, a.instance)
      return { unit: a.unit, instance: a.instance, metrics }
    })
    return renderSystemMetrics({
      system: options.system,
      unitStates: UNIT_STATES,
      units: runners.map((r) => ({
        unit: r.spec.name,
        state: r.state,
        restarts: r.restarts,
        instanceStates: r.status().map((s) => s.state),
      })),
      instances,
      supervisor,
    })
  }
}
