import { createTraceState, type HrTime, SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import type { SpanExport } from './span-batcher.ts'
import type { SpanRecord } from './span-record.ts'

const KINDS: Record<SpanRecord['kind'], SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
}

/**
 * Batches of span records sent to an OTLP/HTTP (JSON) endpoint by OpenTelemetry's own
 * exporter: each record is given the shape of the SDK's finished span, which is what
 * the exporter serialises, so the wire format, retries and timeouts are OTel's.
 */
export function otlpExport(
  endpoint: string,
  resourceAttributes: Record<string, string>,
): { send: SpanExport; shutdown: () => Promise<void> } {
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` })
  const resource = resourceFromAttributes(resourceAttributes)
  const scope = { name: 'tessera' }
  return {
    send: (records) =>
      new Promise<void>((resolve, reject) => {
        const spans = records.map((r) => toReadableSpan(r, resource, scope))
        exporter.export(spans, (result) => (result.code === 0 ? resolve() : reject(result.error)))
      }),
    shutdown: () => exporter.shutdown(),
  }
}

function toReadableSpan(
  r: SpanRecord,
  resource: ReadableSpan['resource'],
  instrumentationScope: ReadableSpan['instrumentationScope'],
): ReadableSpan {
  const traceState = r.traceState !== undefined ? createTraceState(r.traceState) : undefined
  const context = {
    traceId: r.traceId,
    spanId: r.spanId,
    traceFlags: 1,
    ...(traceState ? { traceState } : {}),
  }
  const span: ReadableSpan = {
    name: r.name,
    kind: KINDS[r.kind],
    spanContext: () => context,
    startTime: hrTime(r.startMs),
    endTime: hrTime(r.startMs + r.durationMs),
    duration: hrTime(r.durationMs),
    status:
      r.status === 'error'
        ? { code: SpanStatusCode.ERROR, ...(r.code !== undefined ? { message: r.code } : {}) }
        : { code: SpanStatusCode.UNSET },
    attributes: r.attributes,
    links: [],
    events: r.events.map((e) => ({ name: e.name, time: hrTime(e.timeMs), attributes: e.attributes })),
    ended: true,
    resource,
    instrumentationScope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  }
  if (r.parentSpanId === undefined) return span
  return {
    ...span,
    parentSpanContext: { traceId: r.traceId, spanId: r.parentSpanId, traceFlags: 1, isRemote: false },
  }
}

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1_000)
  return [seconds, Math.min(999_999_999, Math.round((ms - seconds * 1_000) * 1e6))]
}
