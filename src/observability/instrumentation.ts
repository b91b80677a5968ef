/**
 * The W3C ids of one span as Tessera carries them (structurally `TraceContext` of
 * `src/context`, restated here because observability imports nothing).
 */
export interface SpanIds {
  readonly traceId: string
  readonly spanId: string
  /** trace-flags; bit 0 = sampled. */
  readonly flags: number
  /** The vendor `tracestate` header, carried through untouched. */
  readonly state?: string
}

/** How a hop ended: `'OK'`, or the code of the error it ended with (`TIMEOUT`, `INTERNAL`...). */
export type Outcome = string

/** A circuit's state after a change. */
export type BreakerState = 'closed' | 'open' | 'half-open'

/** The kinds of hop the broker may time: a call (caller side), a handler run, an event delivery. */
export type TimedHop = 'call' | 'handle' | 'event'

/**
 * What the broker and the gateway report at each hop, for tracing and metrics. Every
 * hook is optional; a broker given no instrumentation calls nothing and allocates
 * nothing for it. Hooks get strings and objects the broker already has (no per-call
 * record is built for them) and must not throw: they run on the call path.
 *
 * The `...Started` hooks that take a `parent` may return the ids of a new span (a
 * tracer does); the broker then carries that span onward — on the wire as
 * `traceparent`, and as the handler's `ctx.trace` — and hands it back to the matching
 * `...Ended` hook. Returning undefined leaves the trace as it was (metrics do).
 * `durationMs` is measured by the broker with `performance.now()` — only for the hops
 * `timed` asks for (a clock read costs ~85 ns here, half an in-process call); the end
 * hook of a hop that was not timed gets `NaN`.
 *
 * @example
 * const broker = createBroker({ transport, instrumentation: combineInstrumentation(tracer, metrics) })
 */
export interface Instrumentation {
  /**
   * Asked once per call, handler run and event delivery, before its start hook: should
   * the broker read the clock at its start and end? Absent, every hop is timed. Metrics
   * time a busy action's hops 1 in N (decision 0034); a tracer times its spans itself.
   */
  timed?(hop: TimedHop, service: string, name: string, caller: string | undefined): boolean

  // Caller side: once per call, around all its attempts.
  /** A call leaves `caller` (undefined outside any handler) for `service.action`. */
  callStarted?(
    service: string,
    action: string,
    caller: string | undefined,
    parent: SpanIds | undefined,
  ): SpanIds | undefined
  /** The call settled, after any retries. */
  callEnded?(
    service: string,
    action: string,
    caller: string | undefined,
    span: SpanIds | undefined,
    outcome: Outcome,
    durationMs: number,
  ): void
  /** Attempt `attempt` (1 = the first) failed with `code`; the next starts after `delayMs`. */
  callRetried?(
    service: string,
    action: string,
    span: SpanIds | undefined,
    attempt: number,
    code: Outcome,
    delayMs: number,
  ): void
  /** The breaker of `service` on `nodeId` refused an attempt (CIRCUIT_OPEN). */
  breakerRejected?(service: string, action: string, nodeId: string, span: SpanIds | undefined): void
  /** The circuit of `service` on `nodeId` changed state. */
  breakerChanged?(service: string, nodeId: string, state: BreakerState): void

  // Callee side: once per handler run, local or remote.
  /** A handler starts; `inFlight` counts the runs on this node, this one included. */
  handleStarted?(
    service: string,
    action: string,
    caller: string | undefined,
    parent: SpanIds | undefined,
    inFlight: number,
  ): SpanIds | undefined
  /** The handler's answer is ready; `inFlight` no longer counts it. */
  handleEnded?(
    service: string,
    action: string,
    caller: string | undefined,
    span: SpanIds | undefined,
    outcome: Outcome,
    durationMs: number,
    inFlight: number,
  ): void
  /** The bulkhead of `service.action` was full: this run waits, `queued` before it. */
  bulkheadQueued?(service: string, action: string, queued: number): void
  /** The bulkhead's queue was full too: the run was refused (OVERLOADED). */
  bulkheadRejected?(service: string, action: string): void

  // Events.
  /** `service` emits `event` from the handler whose span is `parent`. */
  emitStarted?(service: string, event: string, parent: SpanIds): SpanIds | undefined
  /** The event was sent to `targets` nodes (or the emit failed with `outcome`). */
  emitEnded?(
    service: string,
    event: string,
    span: SpanIds | undefined,
    outcome: Outcome,
    targets: number,
  ): void
  /** A subscriber of `service` starts handling `event`. */
  eventStarted?(service: string, event: string, parent: SpanIds | undefined): SpanIds | undefined
  /** The subscriber finished. */
  eventEnded?(
    service: string,
    event: string,
    span: SpanIds | undefined,
    outcome: Outcome,
    durationMs: number,
  ): void

  // The gateway: once per HTTP request.
  /** A request arrived for `route`, the matched pattern (`/users/:id`); `requestId` is the one it answers with. */
  requestStarted?(
    method: string,
    route: string,
    parent: SpanIds | undefined,
    requestId: string,
  ): SpanIds | undefined
  /** The response was sent with `status`. */
  requestEnded?(
    method: string,
    route: string,
    span: SpanIds | undefined,
    status: number,
    durationMs: number,
  ): void

  // Work a handler marks itself (`ctx.startSpan`), e.g. one SQL query: a child of its call.
  spanStarted?(
    service: string,
    name: string,
    parent: SpanIds,
    attributes: Readonly<Record<string, string | number | boolean>>,
  ): SpanIds | undefined
  spanEnded?(
    service: string,
    name: string,
    span: SpanIds | undefined,
    outcome: Outcome,
    durationMs: number,
  ): void
}
