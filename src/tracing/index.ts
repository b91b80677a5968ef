export { createTracing, type Tracing, type TracingOptions } from './create-tracer.ts'
export { recordExporter, toRecord } from './record-exporter.ts'
export type { SpanRecord } from './span-record.ts'
