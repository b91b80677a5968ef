import { AggregatorRegistry, Counter, Gauge, type PrometheusContentType, Registry } from 'prom-client'
import type { MetricsSnapshot } from './instance-metrics.ts'

/** One instance's answer to a scrape, and where it sits. */
export interface InstanceScrape {
  unit: string
  /** Its label in status and logs, e.g. `users#2`. */
  instance: string
  /** Undefined when it did not answer in time (or has no channel): only `tessera_instance_up` 0 is kept. */
  metrics: MetricsSnapshot | undefined
}

/** What the supervisor knows itself, per unit. */
export interface UnitScrape {
  unit: string
  state: string
  restarts: number
  /** State of each of its slots (`ready`, `starting`, `restarting`, …). */
  instanceStates: string[]
}

export interface SystemScrape {
  system: string
  /** Every state a unit can be in, so each unit has one series per state (a state set). */
  unitStates: readonly string[]
  units: UnitScrape[]
  instances: InstanceScrape[]
  /** Snapshots of the supervisor process's own registry, labelled `unit="supervisor"`. */
  supervisor?: MetricsSnapshot
}

export const SUPERVISOR_LABEL = 'supervisor'

/**
 * One Prometheus exposition for a whole system. Instance series are kept apart, each
 * labelled `unit` and `instance` (sums across instances are a query away, the other
 * way round is impossible); the supervisor adds `tessera_unit_restarts_total`,
 * `tessera_unit_state` (1 for the unit's state, 0 for the others), `tessera_instances`
 * per state and `tessera_instance_up` (0 for an instance that did not answer).
 * Scrape it with `honor_labels: true`, else Prometheus renames `instance` to
 * `exported_instance` (docs/observability.md).
 */
export async function renderSystemMetrics(
  scrape: SystemScrape,
): Promise<{ contentType: string; text: string }> {
  const labelled = scrape.instances.flatMap((i) =>
    i.metrics ? [withLabels(i.metrics, { unit: i.unit, instance: i.instance })] : [],
  )
  if (scrape.supervisor)
    labelled.push(withLabels(scrape.supervisor, { unit: SUPERVISOR_LABEL, instance: SUPERVISOR_LABEL }))
  // Every value carries a distinct (unit, instance) pair, so the aggregator's groups hold
  // one value each: 'first' passes them through, whatever the metric's own aggregator
  // ('omit' would drop process_start_time_seconds, 'average' would be a no-op).
  const instances = AggregatorRegistry.aggregate<PrometheusContentType>(labelled)
  const own = supervisorSeries(scrape)
  const merged = Registry.merge([instances, own])
  return { contentType: merged.contentType, text: await merged.metrics() }
}

function withLabels(metrics: MetricsSnapshot, labels: Record<string, string>): MetricsSnapshot {
  return metrics.map((m) => ({
    ...m,
    aggregator: 'first',
    values: m.values.map((v) => ({ ...v, labels: { ...v.labels, ...labels } })),
  }))
}

function supervisorSeries(scrape: SystemScrape): Registry {
  const registry = new Registry()
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers: [registry] })
  gauge('tessera_system_info', 'The system this endpoint serves (always 1).', ['system']).set(
    { system: scrape.system },
    1,
  )
  // The supervisor keeps the total; a fresh registry per scrape, so inc() from 0 sets it.
  const restarts = new Counter({
    name: 'tessera_unit_restarts_total',
    help: 'Restarts of crashed instances of each unit since the supervisor started.',
    labelNames: ['unit'],
    registers: [registry],
  })
  const unitState = gauge('tessera_unit_state', 'The state of each unit (1 = current).', ['unit', 'state'])
  const states = gauge('tessera_instances', 'Instances of each unit per state.', ['unit', 'state'])
  const up = gauge('tessera_instance_up', '1 if the instance answered this scrape in time, else 0.', [
    'unit',
    'instance',
  ])
  for (const u of scrape.units) {
    restarts.inc({ unit: u.unit }, u.restarts)
    for (const s of scrape.unitStates) unitState.set({ unit: u.unit, state: s }, s === u.state ? 1 : 0)
    const counts = new Map<string, number>()
    for (const s of u.instanceStates) counts.set(s, (counts.get(s) ?? 0) + 1)
    for (const [state, n] of counts) states.set({ unit: u.unit, state }, n)
  }
  for (const i of scrape.instances) up.set({ unit: i.unit, instance: i.instance }, i.metrics ? 1 : 0)
  return registry
}
