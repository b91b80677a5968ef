import { performance } from 'node:perf_hooks'
import type { TraceContext } from '../context/index.ts'
import { TesseraError } from '../errors/index.ts'
import type { Instrumentation } from '../observability/index.ts'
import type { CallContext } from './call-context.ts'
import type { Completion, HostedAction } from './service-host.ts'

/** The outcome a hook is told: the error's code, INTERNAL for anything that is not a TesseraError. */
export function outcomeOf(err: unknown): string {
  return err instanceof TesseraError ? err.code : 'INTERNAL'
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
  readonly #started = performance.now()

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
    // +1: the run is about to count itself in flight.
    const span = ins.handleStarted?.(
      entry.service,
      entry.name,
      ctx.caller,
      ctx.parentTrace,
      host.inFlight + 1,
    )
    this.#span = span as TraceContext | undefined
    if (span !== undefined) ctx.useTrace(span as TraceContext)
  }

  complete(err: unknown, value?: unknown): void {
    const entry = this.#entry
    this.#ins.handleEnded?.(
      entry.service,
      entry.name,
      this.#caller,
      this.#span,
      err === undefined ? 'OK' : outcomeOf(err),
      performance.now() - this.#started,
      this.#host.inFlight,
    )
    this.#done.complete(err, value)
  }
}
