export { createTracing, type Tracing, type TracingOptions } from './create-tracer.ts'
export type { SpanRecord } from './span-record.ts'
