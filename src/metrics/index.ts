/**
 * Metrics: prom-client registries for instances, the broker's instrumentation as
 * Prometheus series, and one exposition for a whole system. `tessera/metrics`.
 */
export { BoundedLabels, OTHER, UNMATCHED } from './bounded-labels.ts'
export { createInstanceMetrics, type InstanceMetrics, type MetricsSnapshot } from './instance-metrics.ts'
export {
  DURATION_BUCKETS,
  type MetricsInstrumentationOptions,
  metricsInstrumentation,
  OUTSIDE,
} from './metrics-instrumentation.ts'
export {
  type InstanceScrape,
  renderSystemMetrics,
  SUPERVISOR_LABEL,
  type SystemScrape,
  type UnitScrape,
} from './system-metrics.ts'
