import type { HrTime, SpanKind } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import type { SpanExport } from './span-batcher.ts'
import type { SpanRecord } from './span-record.ts'

type OtelApi = typeof import('@opentelemetry/api')

/**
 * Batches of span records sent to an OTLP/HTTP (JSON) endpoint by OpenTelemetry's own
 * exporter: each record is given the shape of the SDK's finished span, which is what
 * the exporter serialises, so the wire format, retries and timeouts are OTel's.
 *
 * OpenTelemetry's packages are loaded here, when an endpoint is configured, not when
 * the tracing module is: they are some 4 MB of memory in every process, and a system
 * whose spans only go to the supervisor's store never needs them. The first `send`
 * waits for them; if they cannot be loaded, each `send` rejects (the batcher reports
 * the lost batch) and `shutdown` resolves.
 */
export function otlpExport(
  endpoint: string,
  resourceAttributes: Record<string, string>,
): { send: SpanExport; shutdown: () => Promise<void> } {
  const loaded = Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]).then(([api, { OTLPTraceExporter }, { resourceFromAttributes }]) => ({
    api,
    exporter: new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }),
    resource: resourceFromAttributes(resourceAttributes),
  }))
  loaded.catch(() => {}) // reported by each send
  const scope = { name: 'tessera' }
  return {
    send: async (records) => {
      const { api, exporter, resource } = await loaded
      const spans = records.map((r) => toReadableSpan(api, r, resource, scope))
      await new Promise<void>((resolve, reject) => {
        exporter.export(spans, (result) => (result.code === 0 ? resolve() : reject(result.error)))
      })
    },
    shutdown: () =>
      loaded.then(
        ({ exporter }) => exporter.shutdown(),
        () => {},
      ),
  }
}

function kindOf(api: OtelApi, kind: SpanRecord['kind']): SpanKind {
  switch (kind) {
    case 'internal':
      return api.SpanKind.INTERNAL
    case 'server':
      return api.SpanKind.SERVER
    case 'client':
      return api.SpanKind.CLIENT
    case 'producer':
      return api.SpanKind.PRODUCER
    case 'consumer':
      return api.SpanKind.CONSUMER
  }
}

function toReadableSpan(
  api: OtelApi,
  r: SpanRecord,
  resource: ReadableSpan['resource'],
  instrumentationScope: ReadableSpan['instrumentationScope'],
): ReadableSpan {
  const traceState = r.traceState !== undefined ? api.createTraceState(r.traceState) : undefined
  const context = {
    traceId: r.traceId,
    spanId: r.spanId,
    traceFlags: 1,
    ...(traceState ? { traceState } : {}),
  }
  const span: ReadableSpan = {
    name: r.name,
    kind: kindOf(api, r.kind),
    spanContext: () => context,
    startTime: hrTime(r.startMs),
    endTime: hrTime(r.startMs + r.durationMs),
    duration: hrTime(r.durationMs),
    status:
      r.status === 'error'
        ? { code: api.SpanStatusCode.ERROR, ...(r.code !== undefined ? { message: r.code } : {}) }
        : { code: api.SpanStatusCode.UNSET },
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
