import { collectDefaultMetrics, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client'

/** What an instance answers a metrics request with: its registry as `getMetricsAsJSON()` gives it. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[]

export interface InstanceMetrics {
  /** This process's registry: the default process metrics, plus whatever is registered on it. */
  readonly registry: Registry
  /** Every metric with its values, to send over IPC (which keeps only the JSON of it). */
  snapshot(): Promise<MetricsSnapshot>
}

/**
 * A registry for one instance process with prom-client's default metrics: CPU seconds,
 * RSS, heap sizes and spaces, event-loop delay (`monitorEventLoopDelay`, 10 ms
 * resolution), GC durations, handles, file descriptors. Its own registry, never the
 * global one, so a service using prom-client's default registry is unaffected.
 * Labels naming the instance (`unit`, `instance`) are added by the supervisor when it
 * aggregates, so the instance needs to know nothing about its place in the system.
 *
 * @example
 * const metrics = createInstanceMetrics()
 * const broker = createBroker({ instrumentation: metricsInstrumentation(metrics.registry) })
 */
export function createInstanceMetrics(): InstanceMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 })
  return {
    registry,
    snapshot: () => registry.getMetricsAsJSON(),
  }
}
