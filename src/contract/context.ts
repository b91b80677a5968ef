import type { Static, TSchema } from '@sinclair/typebox'
import type { Principal, TraceContext } from '../context/index.ts'
import type { Logger } from '../observability/index.ts'
import type { AnyService, ServiceClient } from './service.ts'

export type EventSchemas = Record<string, TSchema>

/** Per-call options a caller may set; everything else is carried on from the context. */
export interface CallOptions {
  /** Deadline for this call in ms; it can only shrink the one inherited from the caller. */
  timeout?: number
  /** Cancels the call (rejects with CANCELLED, aborts the callee's `ctx.signal`). */
  signal?: AbortSignal
  /** Top-level calls only: who the call is made for. Nested calls inherit it. */
  principal?: Principal
  /** Extra string metadata carried along with the call (e.g. a tenant id). */
  meta?: Record<string, string>
  /** Answer to use when the call fails after all retries; its return value becomes the result. */
  fallback?: (error: unknown) => unknown
  /** Top-level calls only: continue a trace started outside (a W3C `traceparent` header). */
  traceparent?: string
  tracestate?: string
  /**
   * Top-level calls only: continue this trace, already parsed (the gateway passes the
   * request's, so it is not formatted into a header only to be parsed back). Wins over
   * `traceparent` and `tracestate`; its `state` is the tracestate carried on.
   */
  trace?: TraceContext
  /** Top-level calls only: the request id to carry (default: the trace id). */
  requestId?: string
}

/** Options of one `ctx.emit`. */
export interface EmitOptions {
  /**
   * Durable events only: the event's id (dedup id on the stream, `ctx.eventId` for its
   * handlers). Default: a fresh random UUID. An outbox relay passes the row's id, so a
   * row published twice is stored once.
   */
  eventId?: string
}

/** A span a handler opened with `ctx.startSpan`; only its first `end` counts. */
export interface WorkSpan {
  end(error?: unknown): void
}

/**
 * What every handler receives beside its input. Nested calls made through
 * `ctx.service(...)` carry the request id, trace, principal and the (shrinking)
 * deadline on; `signal` aborts when the deadline passes or the caller cancels.
 */
export interface Context<E extends EventSchemas = EventSchemas> {
  readonly requestId: string
  readonly trace: TraceContext
  /** Name of the calling service, undefined for calls from outside any service. */
  readonly caller: string | undefined
  readonly principal: Principal | undefined
  /** Absolute deadline on this process's clock (ms since epoch). */
  readonly deadline: number
  readonly signal: AbortSignal
  readonly meta: Readonly<Record<string, string>>
  /** Name of the service whose handler runs (or the broker's own name at top level). */
  readonly service: string
  /**
   * The process's logger bound to this call: every line carries `requestId` and
   * `traceId` (secrets redacted under the runtime). Made on first use.
   */
  readonly log: Logger
  /**
   * Marks a piece of this handler's work (one SQL query, one outside request) as a span,
   * a child of this call in its trace; `end` it once, with the error if it failed. Costs
   * nothing when the process records no traces.
   *
   * @example
   * const span = ctx.startSpan('SELECT users', { 'db.system.name': 'sqlite' })
   * try { return await query() } catch (err) { span.end(err); throw err } finally { span.end() }
   */
  startSpan(name: string, attributes?: Readonly<Record<string, string | number | boolean>>): WorkSpan
  /** Time left before the deadline, in ms (never negative). */
  remaining(): number
  /** A typed client for another service; import its type with `import type`. */
  client<S extends AnyService>(name: S['name']): ServiceClient<S>
  /**
   * Emits one of this service's declared events; the payload is validated before it leaves.
   * An at-most-once event resolves once sent; a `durable` one once stored (it rejects
   * UNAVAILABLE when it could not be, and BAD_REQUEST on a transport without durable events).
   */
  emit<K extends keyof E & string>(event: K, payload: Static<E[K]>, options?: EmitOptions): Promise<void>
  /**
   * In a handler of a durable event: its id, the same on every redelivery, so a handler
   * whose effect must happen once can drop repeats. Undefined elsewhere.
   */
  readonly eventId: string | undefined
}
