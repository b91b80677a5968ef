import { performance } from 'node:perf_hooks'
import type { Principal, TraceContext } from '../context/index.ts'
import { childSpan, newTrace, parseTraceparent, remainingMs } from '../context/index.ts'
import type {
  AnyService,
  CallOptions,
  Context,
  EmitOptions,
  EventSchemas,
  ServiceClient,
  WorkSpan,
} from '../contract/index.ts'
import { normalizeError, TesseraError } from '../errors/index.ts'
import type { Instrumentation, Logger, SpanIds } from '../observability/index.ts'
import type { DeadlineEntry, DeadlineWatch } from './deadline-watch.ts'

/** What a context needs from its broker to make nested calls and emit events. */
export interface ContextPort {
  readonly now: () => number
  readonly deadlines: DeadlineWatch
  /** The broker's logger; each context makes its child on first `ctx.log`. */
  readonly logger: Logger
  /** Where `ctx.startSpan` reports; without one (or its span hooks) a span is a no-op. */
  readonly instrumentation?: Instrumentation | undefined
  call(
    parent: CallContext,
    service: string,
    action: string,
    input: unknown,
    options?: CallOptions,
  ): Promise<unknown>
  emit(from: CallContext, event: string, payload: unknown, options?: EmitOptions): Promise<void>
}

/**
 * The context a handler receives. Its `signal` is created lazily: a handler that
 * never looks at it costs no AbortController and no timer. Once created it aborts
 * with TIMEOUT at the deadline, or with the reason given to `abort()` (a cancel
 * from the caller, a shutdown).
 */
export class CallContext<E extends EventSchemas = EventSchemas> implements Context<E> {
  readonly caller: string | undefined
  readonly principal: Principal | undefined
  /**
   * On a system with credentials: the unit of the calling node, as its certificate says
   * (this node's own unit for calls made here). Caller rules fall back to it when the
   * call comes from no service (an adapter such as the gateway). Set after construction.
   */
  callerUnit: string | undefined = undefined
  /** In a durable event's handler: the event id (set after construction). */
  eventId: string | undefined = undefined
  readonly deadline: number
  readonly meta: Readonly<Record<string, string>>
  readonly service: string
  readonly #port: ContextPort
  #requestId: string | undefined
  /** The caller's span; a `traceparent` string while it has not been parsed yet (see `useWireParent`). */
  #parentTrace: TraceContext | string | undefined
  #parentState: string | undefined
  #trace: TraceContext | undefined
  #controller: AbortController | undefined
  #abortReason: unknown
  #deadlineEntry: DeadlineEntry | undefined
  #log: Logger | undefined

  // Positional on purpose: this runs once per call, and an options object would be one more allocation.
  constructor(
    port: ContextPort,
    service: string,
    requestId: string | undefined,
    parentTrace: TraceContext | undefined,
    caller: string | undefined,
    principal: Principal | undefined,
    deadline: number,
    meta: Readonly<Record<string, string>>,
  ) {
    this.#port = port
    this.service = service
    this.#requestId = requestId
    this.#parentTrace = parentTrace
    this.caller = caller
    this.principal = principal
    this.deadline = deadline
    this.meta = meta
  }

  /**
   * This call's span: a child of the caller's, or a new trace at the edge. Made on
   * first read, so a handler that never traces or calls on costs no random ids.
   */
  get trace(): TraceContext {
    if (!this.#trace) {
      const parent = this.parentTrace
      this.#trace = parent ? childSpan(parent) : newTrace()
    }
    return this.#trace
  }

  /** The span this call's own is a child of (the caller's client span), if any. */
  get parentTrace(): TraceContext | undefined {
    const parent = this.#parentTrace
    if (typeof parent !== 'string') return parent
    // Malformed or all-zero: no parent, this call starts a trace (as parseTraceparent says).
    const parsed = parseTraceparent(parent, this.#parentState)
    this.#parentTrace = parsed
    this.#parentState = undefined
    return parsed
  }

  /**
   * The caller's span as a peer sent it (`traceparent`, `tracestate`), parsed only when
   * first needed: a handler that neither calls on, logs, nor traces never parses it.
   * For contexts made from a wire message, instead of `parentTrace` in the constructor.
   */
  useWireParent(traceparent: string, tracestate: string | undefined): void {
    this.#parentTrace = traceparent
    this.#parentState = tracestate
  }

  /** Makes `span` this call's span: a tracer recorded it, so nested calls must be its children. */
  useTrace(span: TraceContext): void {
    this.#trace = span
  }

  /** The id of the whole request; the trace id unless the edge (e.g. the gateway) set one. */
  get requestId(): string {
    if (this.#requestId === undefined) this.#requestId = this.trace.traceId
    return this.#requestId
  }

  /** Lazy like `trace`: a handler that never logs costs no child logger (and no trace ids). */
  get log(): Logger {
    this.#log ??= this.#port.logger.child({ requestId: this.requestId, traceId: this.trace.traceId })
    return this.#log
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      const controller = new AbortController()
      this.#controller = controller
      if (this.#abortReason !== undefined) {
        controller.abort(this.#abortReason)
      } else if (this.remaining() === 0) {
        controller.abort(timeoutError(this.service))
      } else {
        this.#deadlineEntry = this.#port.deadlines.watch(this.deadline, {
          expire: () => controller.abort(timeoutError(this.service)),
        })
      }
    }
    return this.#controller.signal
  }

  remaining(): number {
    return remainingMs(this.#port.now(), this.deadline)
  }

  startSpan(
    name: string,
    attributes: Readonly<Record<string, string | number | boolean>> = NO_ATTRIBUTES,
  ): WorkSpan {
    const ins = this.#port.instrumentation
    if (!ins?.spanStarted) return NO_SPAN
    return new HandlerSpan(
      ins,
      this.service,
      name,
      ins.spanStarted(this.service, name, this.trace, attributes),
    )
  }

  /** Aborts the handler's signal (now, or as soon as it is first read). */
  abort(reason: unknown): void {
    if (this.#abortReason !== undefined) return
    this.#abortReason = reason
    this.#deadlineEntry?.cancel()
    this.#controller?.abort(reason)
  }

  /** Releases the deadline timer once the handler settled. */
  finish(): void {
    this.#deadlineEntry?.cancel()
  }

  client<S extends AnyService>(name: S['name']): ServiceClient<S> {
    return createClient((action, input, options) => this.#port.call(this, name, action, input, options))
  }

  emit<K extends keyof E & string>(event: K, payload: unknown, options?: EmitOptions): Promise<void> {
    return this.#port.emit(this, event, payload, options)
  }
}

function timeoutError(service: string): TesseraError {
  return new TesseraError('TIMEOUT', `deadline passed while ${service} was handling the call`)
}

/** `memo` is one object per client method, which the invoker may use to cache per-action lookups. */
type Invoke = (
  action: string,
  input: unknown,
  options: CallOptions | undefined,
  memo: MethodMemo,
) => Promise<unknown>

/** Per-method scratch space for the invoker (a cached route); starts empty. */
export interface MethodMemo {
  version: number
  route: unknown
}

/**
 * A client whose every property is an action caller. Action names are not known at
 * run time (the caller only imported types), so a proxy makes the function for a
 * name on first use. The proxy is the *prototype* of the client: once a method is
 * made it is an own property, and later calls never go through the proxy trap.
 */
export function createClient<C>(invoke: Invoke): C {
  const client = Object.create(
    new Proxy(Object.create(null) as object, {
      get(_target, prop, receiver) {
        // `then` must stay undefined, or `await client` would treat the client as a promise.
        if (typeof prop !== 'string' || prop === 'then') return undefined
        const memo: MethodMemo = { version: -1, route: undefined }
        const method = (input: unknown, options?: CallOptions) => invoke(prop, input, options, memo)
        Object.defineProperty(receiver, prop, { value: method, enumerable: true })
        return method
      },
    }),
  )
  return client as C
}

const NO_ATTRIBUTES: Readonly<Record<string, string | number | boolean>> = Object.freeze({})
const NO_SPAN: WorkSpan = Object.freeze({ end() {} })

/** A span opened by `ctx.startSpan`: reports its end once, with the error's code if it failed. */
class HandlerSpan implements WorkSpan {
  readonly #started = performance.now()
  #ended = false
  constructor(
    readonly ins: Instrumentation,
    readonly service: string,
    readonly name: string,
    readonly span: SpanIds | undefined,
  ) {}

  end(error?: unknown): void {
    if (this.#ended) return
    this.#ended = true
    const outcome = error === undefined ? 'OK' : normalizeError(error).code
    this.ins.spanEnded?.(this.service, this.name, this.span, outcome, performance.now() - this.#started)
  }
}
