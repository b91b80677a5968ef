import { performance } from 'node:perf_hooks'
import type { TraceContext } from '../context/index.ts'
import { TesseraError } from '../errors/index.ts'
import type { Instrumentation, TimedHop } from '../observability/index.ts'
import type { CallContext } from './call-context.ts'
import type { Completion, HostedAction } from './service-host.ts'

/** The outcome a hook is told: the error's code, INTERNAL for anything that is not a TesseraError. */
export function outcomeOf(err: unknown): string {
  return err instanceof TesseraError ? err.code : 'INTERNAL'
}

/**
 * The clock at the start of a hop if the instrumentation wants it timed, else -1: a clock
 * read costs about half an in-process call, so only the hops `timed` picks are timed.
 */
export function startTime(
  ins: Instrumentation,
  hop: TimedHop,
  service: string,
  name: string,
  caller: string | undefined,
): number {
  return ins.timed === undefined || ins.timed(hop, service, name, caller) ? performance.now() : -1
}

/** Milliseconds since `started` (from `startTime`); NaN for a hop that is not timed. */
export function elapsedSince(started: number): number {
  return started < 0 ? Number.NaN : performance.now() - started
}

/**
 * One call told to the instrumentation at its end (`callEnded`), once, with its outcome
 * and (if it was timed) its duration. The local fast path hands it to the call itself,
 * which tells it as it settles; every other path watches the call's promise.
 */
/**
 * Tells `handleStarted` of a run about to start (+1: it is about to count itself in
 * flight); a span it returns becomes the trace of the run's context.
 */
export function startHandleSpan(
  ins: Instrumentation,
  host: { readonly inFlight: number },
  entry: HostedAction,
  ctx: CallContext,
): TraceContext | undefined {
  const span = ins.handleStarted?.(entry.service, entry.name, ctx.caller, ctx.parentTrace, host.inFlight + 1)
  if (span !== undefined) ctx.useTrace(span as TraceContext)
  return span as TraceContext | undefined
}

export class ObservedCall {
  #ended = false

  constructor(
    readonly ins: Instrumentation,
    readonly service: string,
    readonly action: string,
    readonly caller: string | undefined,
    readonly span: TraceContext | undefined,
    /** From `startTime`: -1 when the call is not timed. */
    readonly started: number,
  ) {}

  end(err: unknown): void {
    if (this.#ended) return
    this.#ended = true
    const outcome = err === undefined ? 'OK' : outcomeOf(err)
    this.ins.callEnded?.(
      this.service,
      this.action,
      this.caller,
      this.span,
      outcome,
      elapsedSince(this.started),
    )
  }

  /** `result`, told to this call's end as it settles. */
  watch(result: Promise<unknown>): Promise<unknown> {
    return result.then(
      (value) => {
        this.end(undefined)
        return value
      },
      (err: unknown) => {
        this.end(err)
        throw err
      },
    )
  }
}

/**
 * One handler run told to the instrumentation: started when made (a span the tracer
 * opens becomes the handler's `ctx.trace`), ended when the run completes. It is the
 * run's completion, so observing a run costs this one object — and only when some
 * instrumentation was given.
 */
export class ObservedRun implements Completion {
  readonly #ins: Instrumentation
  readonly #host: { readonly inFlight: number }
  readonly #entry: HostedAction
  readonly #caller: string | undefined
  readonly #done: Completion
  readonly #span: TraceContext | undefined
  /** -1 when the run is not timed (see `Instrumentation.timed`). */
  readonly #started: number

  constructor(
    ins: Instrumentation,
    host: { readonly inFlight: number },
    entry: HostedAction,
    ctx: CallContext,
    done: Completion,
  ) {
    this.#ins = ins
    this.#host = host
    this.#entry = entry
    this.#caller = ctx.caller
    this.#done = done
    this.#started = startTime(ins, 'handle', entry.service, entry.name, ctx.caller)
    this.#span = startHandleSpan(ins, host, entry, ctx)
  }

  complete(err: unknown, value?: unknown): void {
    const entry = this.#entry
    this.#ins.handleEnded?.(
      entry.service,
      entry.name,
      this.#caller,
      this.#span,
      err === undefined ? 'OK' : outcomeOf(err),
      elapsedSince(this.#started),
      this.#host.inFlight,
    )
    this.#done.complete(err, value)
  }
}
