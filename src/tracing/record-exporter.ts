import { type Attributes, type HrTime, SpanKind, SpanStatusCode } from '@opentelemetry/api'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace'
import type { SpanRecord } from './span-record.ts'

const KINDS: Record<SpanKind, SpanRecord['kind']> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
}

/**
 * An OTel exporter that hands finished spans to `sink` as plain records (the runtime
 * sends them to the supervisor). Put behind a BatchSpanProcessor, whose queue is
 * bounded and drops when full, so exporting never blocks a call.
 */
export function recordExporter(sink: (records: SpanRecord[]) => void): SpanExporter {
  return {
    export(spans, done) {
      try {
        sink(spans.map(toRecord))
        done({ code: 0 })
      } catch (error) {
        done({ code: 1, error: error as Error })
      }
    },
    async shutdown() {},
  }
}

export function toRecord(span: ReadableSpan): SpanRecord {
  const ids = span.spanContext()
  const unit = String(span.resource.attributes['service.name'] ?? 'unknown')
  const attributes = plain(span.attributes)
  const record: SpanRecord = {
    traceId: ids.traceId,
    spanId: ids.spanId,
    name: span.name,
    kind: KINDS[span.kind],
    service: typeof attributes['tessera.service'] === 'string' ? attributes['tessera.service'] : unit,
    unit,
    startMs: ms(span.startTime),
    durationMs: ms(span.duration),
    status: span.status.code === SpanStatusCode.ERROR ? 'error' : 'ok',
    attributes,
    events: span.events.map((e) => ({ name: e.name, timeMs: ms(e.time), attributes: plain(e.attributes) })),
  }
  const parent = span.parentSpanContext?.spanId
  if (parent) record.parentSpanId = parent
  if (record.status === 'error' && span.status.message) record.code = span.status.message
  const requestId = attributes['tessera.request_id']
  if (typeof requestId === 'string') record.requestId = requestId
  return record
}

function ms(t: HrTime): number {
  return t[0] * 1_000 + t[1] / 1e6
}

function plain(attributes: Attributes | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const [k, v] of Object.entries(attributes ?? {})) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v
  }
  return out
}
