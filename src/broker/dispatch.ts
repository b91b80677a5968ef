import { formatTraceparent, newTrace, remainingMs, type TraceContext } from '../context/index.ts'
import { answeredError, markCallFailure, TesseraError } from '../errors/index.ts'
import type { Call, Next } from '../middleware/index.ts'
import type { Instrumentation } from '../observability/index.ts'
import type { Transport } from '../transport/index.ts'
import type { WireContext } from '../wire/index.ts'
import { CallContext, type ContextPort } from './call-context.ts'
import type { DeadlineEntry, Expirable } from './deadline-watch.ts'
import { elapsedSince, type ObservedCall, outcomeOf, startHandleSpan, startTime } from './observed-run.ts'
import type { PendingRequests } from './pending-requests.ts'
import { principalProofOf } from './principal-proofs.ts'
import type { Completion, HostedAction, ServiceHost } from './service-host.ts'

export interface DispatchDeps {
  host: ServiceHost
  transport: Transport | undefined
  pending: PendingRequests
  port: ContextPort
  /** Calls in flight per node, read by the least-outstanding balancer. */
  outstanding: Map<string, number>
  /** With a credential: this node's unit, for caller rules of local calls. */
  unit: string | undefined
}

/**
 * The last step of the caller pipeline: delivers one attempt to the endpoint the
 * balancer chose, in this process (no serialization) or through the transport,
 * and enforces the deadline and the caller's abort signal on it.
 */
export function createDispatch(deps: DispatchDeps): Next {
  const { host, transport, pending, port, outstanding, unit } = deps

  const countOut = (nodeId: string, delta: number) =>
    outstanding.set(nodeId, (outstanding.get(nodeId) ?? 0) + delta)

  function dispatchLocal(call: Call): Promise<unknown> {
    const ctx = new CallContext(
      port,
      call.service,
      call.requestId,
      call.trace,
      call.caller,
      call.principal,
      call.deadline,
      call.meta ?? EMPTY_META,
    )
    ctx.callerUnit = unit
    const entry = host.lookup(call.service, call.action)
    if (!entry) return host.invoke(call.service, call.action, call.input, ctx)
    return runLocal(host, port, entry, call.input, ctx, call.signal)
  }

  // Not async on purpose: the promise of the pending request is the call's promise,
  // with no wrapper promise and no extra turns between the answer and the caller.
  function dispatchRemote(call: Call, nodeId: string, now: number): Promise<unknown> {
    if (!transport) {
      return Promise.reject(
        markCallFailure(
          new TesseraError('UNAVAILABLE', `no transport to reach node ${nodeId}`, {
            nodeId,
            delivered: false,
          }),
        ),
      )
    }
    const id = pending.nextId()
    // At the edge there is no caller span yet: this request's own span is the parent.
    const trace = call.trace ?? newTrace()
    const ctx: WireContext = {
      requestId: call.requestId ?? trace.traceId,
      traceparent: formatTraceparent(trace),
      timeout: remainingMs(now, call.deadline),
    }
    if (trace.state !== undefined) ctx.tracestate = trace.state
    if (call.caller !== undefined) ctx.caller = call.caller
    if (call.principal !== undefined) {
      ctx.principal = call.principal
      const proof = principalProofOf(call.principal)
      if (proof !== undefined) ctx.principalProof = proof
    }
    if (call.meta !== undefined) ctx.meta = call.meta as Record<string, string>
    const answer = pending.trackCall(
      nodeId,
      id,
      call.deadline,
      call.service,
      call.action,
      call.signal,
      outstanding,
    )
    try {
      const sent = transport.send(nodeId, {
        kind: 'request',
        id,
        service: call.service,
        action: call.action,
        input: call.input,
        ctx,
      })
      if (!sent)
        pending.fail(
          id,
          new TesseraError('UNAVAILABLE', `node ${nodeId} is unreachable`, { nodeId, delivered: false }),
        )
    } catch (err) {
      // The input could not be encoded: the call never left, so nothing to retry.
      pending.fail(id, err instanceof TesseraError ? err : new TesseraError('BAD_REQUEST', String(err)))
    }
    return answer
  }

  return (call) => {
    const endpoint = call.endpoint
    if (!endpoint) return Promise.reject(new TesseraError('INTERNAL', 'no endpoint chosen for the call'))
    // Read once: the remote path sends the time left from the same instant.
    const now = port.now()
    if (now >= call.deadline) {
      return Promise.reject(
        new TesseraError('TIMEOUT', `${call.service}.${call.action}: deadline passed before sending`),
      )
    }
    if (call.signal?.aborted) {
      return Promise.reject(
        new TesseraError('CANCELLED', `${call.service}.${call.action} was cancelled by the caller`),
      )
    }
    if (endpoint.local) {
      countOut(endpoint.nodeId, 1)
      return dispatchLocal(call).finally(() => countOut(endpoint.nodeId, -1))
    }
    return dispatchRemote(call, endpoint.nodeId, now)
  }
}

export const EMPTY_META: Readonly<Record<string, string>> = Object.freeze({})

/**
 * Runs a hosted action for a caller in this process, bounded by the context's
 * deadline and the caller's signal: whichever ends first settles the promise, and
 * the handler's `ctx.signal` is aborted with the same reason. `observed` (instrumentation)
 * is told the call's end as it settles, before its promise does.
 */
export function runLocal(
  host: ServiceHost,
  port: ContextPort,
  entry: HostedAction,
  input: unknown,
  ctx: CallContext,
  signal: AbortSignal | undefined,
  observed?: ObservedCall,
): Promise<unknown> {
  if (signal?.aborted) {
    const err = new TesseraError('CANCELLED', `${entry.service}.${entry.name} was cancelled by the caller`)
    observed?.end(err)
    return Promise.reject(err)
  }
  return new Promise((resolve, reject) => {
    const ins = host.instrumentation
    const call = new LocalCall(resolve, reject, entry, ctx, signal, observed, ins, host)
    host.run(entry, input, ctx, call, ins !== undefined)
    // A handler that answered synchronously needs no deadline watch and no abort listener.
    if (call.settled) return
    call.watch = port.deadlines.watch(ctx.deadline, call)
    signal?.addEventListener('abort', call, { once: true })
  })
}

/**
 * One local call in flight. It is its own deadline target, abort listener and
 * completion, so a call costs one object instead of four closures. With instrumentation
 * it also tells the handler run's start and end (what an ObservedRun does for the other
 * paths), and `observed` the call's end: one object observes both sides.
 */
class LocalCall implements Completion, Expirable {
  watch: DeadlineEntry | undefined
  #settled = false

  get settled(): boolean {
    return this.#settled
  }
  readonly #resolve: (value: unknown) => void
  readonly #reject: (reason: unknown) => void
  readonly #entry: HostedAction
  readonly #ctx: CallContext
  readonly #signal: AbortSignal | undefined
  readonly #observed: ObservedCall | undefined
  readonly #ins: Instrumentation | undefined
  readonly #host: ServiceHost
  /** The run's span and start (see ObservedRun), when instrumented. */
  readonly #runSpan: TraceContext | undefined
  readonly #runStarted: number = -1

  constructor(
    resolve: (value: unknown) => void,
    reject: (reason: unknown) => void,
    entry: HostedAction,
    ctx: CallContext,
    signal: AbortSignal | undefined,
    observed: ObservedCall | undefined,
    ins: Instrumentation | undefined,
    host: ServiceHost,
  ) {
    this.#resolve = resolve
    this.#reject = reject
    this.#entry = entry
    this.#ctx = ctx
    this.#signal = signal
    this.#observed = observed
    this.#ins = ins
    this.#host = host
    if (ins === undefined) return
    // As ObservedRun: the run starts now (host.run is next); +1, it is about to count itself in flight.
    this.#runStarted = startTime(ins, 'handle', entry.service, entry.name, ctx.caller)
    this.#runSpan = startHandleSpan(ins, host, entry, ctx)
  }

  /** The handler run completed (whether or not the call settled before, by its deadline or signal). */
  complete(err: unknown, value?: unknown): void {
    const ins = this.#ins
    if (ins !== undefined) {
      const entry = this.#entry
      ins.handleEnded?.(
        entry.service,
        entry.name,
        this.#ctx.caller,
        this.#runSpan,
        err === undefined ? 'OK' : outcomeOf(err),
        elapsedSince(this.#runStarted),
        this.#host.inFlight,
      )
    }
    if (!this.#end()) return
    this.#observed?.end(err)
    // As over the wire (inbound.ts): a failure the handler passed on is upstream here too.
    if (err !== undefined) this.#reject(answeredError(err))
    else this.#resolve(value)
  }

  expire(): void {
    this.#stop(new TesseraError('TIMEOUT', `${this.#entry.service}.${this.#entry.name} timed out`))
  }

  /** The caller's AbortSignal fired (EventTarget calls `handleEvent` on listener objects). */
  handleEvent(): void {
    this.#stop(
      new TesseraError('CANCELLED', `${this.#entry.service}.${this.#entry.name} was cancelled by the caller`),
    )
  }

  #stop(err: TesseraError): void {
    if (!this.#end()) return
    this.#observed?.end(err)
    this.#ctx.abort(err)
    this.#reject(err)
  }

  #end(): boolean {
    if (this.#settled) return false
    this.#settled = true
    this.watch?.cancel()
    this.#signal?.removeEventListener('abort', this)
    return true
  }
}
