import { performance } from 'node:perf_hooks'
import type { SpanIds } from '../observability/index.ts'
import type { SpanRecord } from './span-record.ts'

type Attributes = Record<string, string | number | boolean>

/** Epoch milliseconds (fractional) of the moment `performance.now()` counts from. */
const ORIGIN_MS = performance.timeOrigin

/**
 * A sampled span being recorded. It is its own `SpanIds`: the broker carries it as the
 * hop's trace (on the wire, as the handler's `ctx.trace`) and hands it back to the end
 * hook, so no table maps ids to spans and ending one is a field read. Only its ids are
 * ever read by others; the rest stays here until it ends and becomes a `SpanRecord`.
 */
export class LiveSpan implements SpanIds {
  readonly flags = 1
  declare readonly state?: string
  readonly parentSpanId: string | undefined
  readonly #started = performance.now()
  #events: SpanRecord['events'] | undefined
  #ended = false

  constructor(
    readonly traceId: string,
    readonly spanId: string,
    parent: SpanIds | undefined,
    readonly name: string,
    readonly kind: SpanRecord['kind'],
    /** The Tessera service the span belongs to; the process's unit when undefined. */
    readonly service: string | undefined,
    /** Owned by the span from here on (the instrumentation builds a fresh object per span). */
    readonly attributes: Attributes,
  ) {
    this.parentSpanId = parent?.spanId
    if (parent?.state !== undefined) (this as { state?: string }).state = parent.state
  }

  /** A point in the span's life (a retry, a refusal by an open circuit). */
  addEvent(name: string, attributes: Attributes): void {
    if (this.#ended) return
    this.#events ??= []
    this.#events.push({ name, timeMs: ORIGIN_MS + performance.now(), attributes })
  }

  /**
   * Ends the span with `outcome` (`'OK'` or an error code) and returns its record, or
   * undefined if it had ended already (only the first end counts).
   */
  end(outcome: string, unit: string, attributes?: Attributes): SpanRecord | undefined {
    if (this.#ended) return undefined
    this.#ended = true
    const durationMs = performance.now() - this.#started
    if (attributes) Object.assign(this.attributes, attributes)
    const record: SpanRecord = {
      traceId: this.traceId,
      spanId: this.spanId,
      name: this.name,
      kind: this.kind,
      service: this.service ?? unit,
      unit,
      startMs: ORIGIN_MS + this.#started,
      durationMs,
      status: outcome === 'OK' ? 'ok' : 'error',
      attributes: this.attributes,
      events: this.#events ?? [],
    }
    if (this.parentSpanId !== undefined) record.parentSpanId = this.parentSpanId
    if (this.state !== undefined) record.traceState = this.state
    if (outcome !== 'OK') {
      record.code = outcome
      this.attributes['tessera.error.code'] = outcome
    }
    const requestId = this.attributes['tessera.request_id']
    if (typeof requestId === 'string') record.requestId = requestId
    return record
  }
}
