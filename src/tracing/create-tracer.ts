import { newSpanId, newTraceId } from '../context/index.ts'
import type { Instrumentation, Logger } from '../observability/index.ts'
import { otlpExport } from './otlp-export.ts'
import { SpanBatcher, type SpanExport } from './span-batcher.ts'
import type { SpanRecord } from './span-record.ts'
import { traceInstrumentation } from './trace-instrumentation.ts'

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
  /** Where a failed export is reported (a warning); default: nowhere. */
  logger?: Logger
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
 * Tracing: spans per hop (see traceInstrumentation), batched — a bounded queue that
 * drops when full, so exporting never blocks a call — to OTLP (OpenTelemetry's
 * exporter) and/or a sink. With `sampleRatio` 0, or with nowhere to send spans, nothing
 * is made and `instrumentation` is undefined, so the broker stays on its uninstrumented
 * path. Spans are recorded by Tessera rather than by the OTel SDK: see decision 0020.
 *
 * @example
 * const tracing = createTracing({ service: 'orders', sampleRatio: 0.01, otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT })
 * const broker = createBroker({ transport, instrumentation: tracing.instrumentation })
 */
export function createTracing(options: TracingOptions): Tracing {
  const ratio = Math.min(1, Math.max(0, options.sampleRatio ?? 1))
  if (ratio === 0 || (!options.otlpEndpoint && !options.sink)) return off
  const exports: SpanExport[] = []
  const otlp = options.otlpEndpoint
    ? otlpExport(options.otlpEndpoint, { 'service.name': options.service, ...options.attributes })
    : undefined
  if (otlp) exports.push(otlp.send)
  if (options.sink) exports.push(options.sink)
  const logger = options.logger
  const batcher = new SpanBatcher(exports, {
    ...BATCH,
    onError: (err) => logger?.warn({ err }, 'exporting spans failed; that batch is lost'),
  })
  const instrumentation = traceInstrumentation({
    unit: options.service,
    sampleRatio: ratio,
    newTraceId,
    newSpanId,
    record: (span) => batcher.add(span),
  })
  let stopped: Promise<void> | undefined
  const tracing: Tracing = {
    instrumentation,
    flush: () => batcher.flush(),
    shutdown: () => (stopped ??= batcher.shutdown().then(() => otlp?.shutdown())),
    [Symbol.asyncDispose]: () => tracing.shutdown(),
  }
  return tracing
}

/** Up to 2 048 spans wait; batches of 512 at most, sent 200 ms after their first span. */
const BATCH = { maxQueue: 2_048, maxBatch: 512, delayMs: 200 }

const off: Tracing = {
  instrumentation: undefined,
  flush: async () => {},
  shutdown: async () => {},
  [Symbol.asyncDispose]: async () => {},
}
