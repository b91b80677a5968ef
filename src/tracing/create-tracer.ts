import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace'
import { newTrace } from '../context/index.ts'
import type { Instrumentation } from '../observability/index.ts'
import { otelInstrumentation } from './otel-instrumentation.ts'
import { recordExporter } from './record-exporter.ts'
import type { SpanRecord } from './span-record.ts'

export interface TracingOptions {
  /** The process's `service.name` (the runtime passes the unit's name). */
  service: string
  /** Share of new traces sampled, 0..1 (default 1); a hop with a parent follows the parent. 0: tracing off. */
  sampleRatio?: number
  /** OTLP/HTTP (JSON) endpoint base, e.g. `http://127.0.0.1:4318`; `/v1/traces` is appended. */
  otlpEndpoint?: string
  /** Receives finished spans in batches (the runtime's IPC channel to the supervisor). */
  sink?: (spans: SpanRecord[]) => void
  /** Extra resource attributes (node id, instance label). */
  attributes?: Record<string, string>
}

export interface Tracing extends AsyncDisposable {
  /** Give it to `createBroker` / `createGateway`; undefined when tracing is off. */
  readonly instrumentation: Instrumentation | undefined
  /** Exports what is buffered now. */
  flush(): Promise<void>
  /** Exports what is buffered, then stops. */
  shutdown(): Promise<void>
}

/**
 * Tracing with OpenTelemetry: spans per hop (see otelInstrumentation), batched (a
 * bounded queue that drops when full: exporting never blocks a call) to OTLP and/or a
 * sink. With `sampleRatio` 0, or with nowhere to send spans, no OTel object is made and
 * `instrumentation` is undefined, so the broker stays on its uninstrumented path.
 *
 * @example
 * const tracing = createTracing({ service: 'orders', sampleRatio: 0.01, otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT })
 * const broker = createBroker({ transport, instrumentation: tracing.instrumentation })
 */
export function createTracing(options: TracingOptions): Tracing {
  const ratio = Math.min(1, Math.max(0, options.sampleRatio ?? 1))
  const processors: SpanProcessor[] = []
  if (ratio > 0 && options.otlpEndpoint) {
    const url = `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces`
    processors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), ...BATCH }))
  }
  if (ratio > 0 && options.sink)
    processors.push(new BatchSpanProcessor({ exporter: recordExporter(options.sink), ...BATCH }))
  if (processors.length === 0) return off
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.service, ...options.attributes }),
    sampler: new AlwaysOnSampler(), // sampling is decided before a span is asked for
    spanProcessors: processors,
  })
  const instrumentation = otelInstrumentation(provider.getTracer('tessera'), ratio, newTrace)
  let stopped: Promise<void> | undefined
  const tracing: Tracing = {
    instrumentation,
    flush: () => provider.forceFlush(),
    shutdown: () => (stopped ??= provider.shutdown()),
    [Symbol.asyncDispose]: () => tracing.shutdown(),
  }
  return tracing
}

/** Up to 2 048 spans wait; batches of 512 at most every 200 ms. */
const BATCH = { maxQueueSize: 2_048, maxExportBatchSize: 512, scheduledDelayMillis: 200 }

const off: Tracing = {
  instrumentation: undefined,
  flush: async () => {},
  shutdown: async () => {},
  [Symbol.asyncDispose]: async () => {},
}
