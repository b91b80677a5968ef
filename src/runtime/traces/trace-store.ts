import type { SpanRecord } from '../../tracing/index.ts'

/** One trace as listed: its root, extent, services and whether any span failed. */
export interface TraceSummary {
  traceId: string
  /** The earliest span's name (the gateway request, usually). */
  name: string
  startMs: number
  durationMs: number
  spans: number
  services: string[]
  status: 'ok' | 'error'
  requestId?: string
}

export interface TraceQuery {
  service?: string
  status?: 'ok' | 'error'
  requestId?: string
  minDurationMs?: number
  /** Default 50, at most 1 000. */
  limit?: number
  /** `newest` (default) or `slowest` first. */
  order?: 'newest' | 'slowest'
}

interface Entry {
  spans: SpanRecord[]
  startMs: number
  endMs: number
  services: Set<string>
  error: boolean
  requestId: string | undefined
  /** When the last span arrived, for "newest". */
  seq: number
}

/**
 * The recent traces the runtime keeps when no OTLP endpoint takes them: bounded both
 * in traces and in spans (the oldest trace goes first when either bound is passed), so
 * a busy system keeps the latest traffic in constant memory.
 */
export class TraceStore {
  readonly #traces = new Map<string, Entry>()
  readonly #maxTraces: number
  readonly #maxSpans: number
  #spans = 0
  #seq = 0

  constructor(options: { maxTraces?: number; maxSpans?: number } = {}) {
    this.#maxTraces = options.maxTraces ?? 1_000
    this.#maxSpans = options.maxSpans ?? 20_000
  }

  get size(): { traces: number; spans: number } {
    return { traces: this.#traces.size, spans: this.#spans }
  }

  add(spans: readonly SpanRecord[]): void {
    for (const span of spans) {
      let entry = this.#traces.get(span.traceId)
      if (entry) {
        // Keep the map in arrival order of the latest span: eviction drops the stalest.
        this.#traces.delete(span.traceId)
      } else {
        entry = {
          spans: [],
          startMs: span.startMs,
          endMs: span.startMs + span.durationMs,
          services: new Set(),
          error: false,
          requestId: undefined,
          seq: 0,
        }
      }
      this.#traces.set(span.traceId, entry)
      entry.spans.push(span)
      entry.startMs = Math.min(entry.startMs, span.startMs)
      entry.endMs = Math.max(entry.endMs, span.startMs + span.durationMs)
      entry.services.add(span.service)
      entry.error ||= span.status === 'error'
      entry.requestId ??= span.requestId
      entry.seq = ++this.#seq
      this.#spans++
    }
    this.#evict()
  }

  #evict(): void {
    for (const [traceId, entry] of this.#traces) {
      if (this.#traces.size <= this.#maxTraces && this.#spans <= this.#maxSpans) return
      this.#traces.delete(traceId)
      this.#spans -= entry.spans.length
    }
  }

  /** Traces matching every given filter, newest (or slowest) first. */
  list(query: TraceQuery = {}): TraceSummary[] {
    const limit = Math.min(1_000, Math.max(1, query.limit ?? 50))
    const found: [Entry, string][] = []
    for (const [traceId, e] of this.#traces) {
      if (query.service !== undefined && !e.services.has(query.service)) continue
      if (query.status !== undefined && (query.status === 'error') !== e.error) continue
      if (query.requestId !== undefined && e.requestId !== query.requestId && traceId !== query.requestId)
        continue
      if (query.minDurationMs !== undefined && e.endMs - e.startMs < query.minDurationMs) continue
      found.push([e, traceId])
    }
    found.sort(
      query.order === 'slowest'
        ? ([a], [b]) => b.endMs - b.startMs - (a.endMs - a.startMs)
        : ([a], [b]) => b.seq - a.seq,
    )
    return found.slice(0, limit).map(([e, traceId]) => summary(traceId, e))
  }

  /** Every span of one trace, by start time (for a waterfall); undefined when not kept. */
  get(traceId: string): SpanRecord[] | undefined {
    const e = this.#traces.get(traceId)
    return e ? [...e.spans].sort((a, b) => a.startMs - b.startMs) : undefined
  }
}

function summary(traceId: string, e: Entry): TraceSummary {
  const first = e.spans.reduce((a, b) => (b.startMs < a.startMs ? b : a))
  const out: TraceSummary = {
    traceId,
    name: first.name,
    startMs: e.startMs,
    durationMs: e.endMs - e.startMs,
    spans: e.spans.length,
    services: [...e.services],
    status: e.error ? 'error' : 'ok',
  }
  if (e.requestId !== undefined) out.requestId = e.requestId
  return out
}
