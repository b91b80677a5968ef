import { type Clock, nestedDeadline, parseTraceparent, type TraceContext } from '../context/index.ts'
import type { CallOptions } from '../contract/index.ts'
import { markCallFailure, TesseraError } from '../errors/index.ts'
import type { Call, Next } from '../middleware/index.ts'
import type { Instrumentation } from '../observability/index.ts'
import type { ReadonlyRegistry } from '../registry/index.ts'
import { CallContext, type ContextPort } from './call-context.ts'
import { EMPTY_META, runLocal } from './dispatch.ts'
import { ObservedCall, startTime } from './observed-run.ts'
import { whenRegistry } from './registry-wait.ts'
import type { Route, RouteCache, RouteTable } from './routes.ts'
import type { ServiceHost } from './service-host.ts'

export interface CallerDeps {
  nodeId: string
  clock: Clock
  registry: ReadonlyRegistry
  routes: RouteTable
  host: ServiceHost
  port: ContextPort
  /** The caller-side pipeline (fallback, retry, balance, breaker, dispatch). */
  send: Next
  /** False when user middleware is installed: then every call takes the pipeline. */
  fastPath: boolean
  waitForInstanceMs: number
  /** True once the broker stops: calls no longer wait for instances to appear. */
  stopping: () => boolean
  /** With a credential: this node's unit, the caller of calls made outside any handler. */
  unit: string | undefined
  /** With a credential: signs a principal asserted at the edge; throws FORBIDDEN where not allowed. */
  vouch?: (principal: NonNullable<CallOptions['principal']>) => void
  /** Told of every call (see Instrumentation); absent, the call path calls nothing for it. */
  instrumentation: Instrumentation | undefined
}

/**
 * Starts every outgoing call: resolves its route, builds its context (trace, request
 * id, principal, meta, the shrinking deadline), then takes the local fast path or the
 * pipeline.
 */
export class Caller {
  readonly #d: CallerDeps

  constructor(deps: CallerDeps) {
    this.#d = deps
  }

  call(
    parent: CallContext | undefined,
    service: string,
    action: string,
    input: unknown,
    options: CallOptions | undefined,
    memo?: RouteCache,
  ): Promise<unknown> {
    const ins = this.#d.instrumentation
    if (ins === undefined)
      return this.#call(parent, service, action, input, options, memo, undefined, undefined)
    return this.#observed(ins, parent, service, action, input, options, memo)
  }

  /**
   * A call told to the instrumentation: its start (which may open a client span, then
   * carried in place of the caller's) and its end with the outcome and duration.
   */
  #observed(
    ins: Instrumentation,
    parent: CallContext | undefined,
    service: string,
    action: string,
    input: unknown,
    options: CallOptions | undefined,
    memo: RouteCache | undefined,
  ): Promise<unknown> {
    const caller = parent?.service
    const started = startTime(ins, 'call', service, action, caller)
    const parentTrace = parent ? parent.trace : edgeTrace(options)
    const span = ins.callStarted?.(service, action, caller, parentTrace) as TraceContext | undefined
    const known = span ?? parentTrace ?? null
    if (!ins.callEnded) return this.#call(parent, service, action, input, options, memo, known, undefined)
    const observed = new ObservedCall(ins, service, action, caller, span, started)
    return this.#call(parent, service, action, input, options, memo, known, observed)
  }

  /**
   * `known`: the trace to carry when the instrumentation already settled it (null: none).
   * `observed`: told of the call's end — by the local call itself on the fast path (no
   * promise around it), else by watching the promise.
   */
  #call(
    parent: CallContext | undefined,
    service: string,
    action: string,
    input: unknown,
    options: CallOptions | undefined,
    memo: RouteCache | undefined,
    known: TraceContext | null | undefined,
    observed: ObservedCall | undefined,
  ): Promise<unknown> {
    const d = this.#d
    const route = memo ? d.routes.cached(service, action, memo) : d.routes.get(service, action)
    if (!route) {
      const result = this.#unrouted(parent, service, action, input, options, known)
      return observed ? observed.watch(result) : result
    }
    // The caller's span; at the edge only if the caller brought a traceparent (else the callee starts the trace).
    const trace = known !== undefined ? (known ?? undefined) : parent ? parent.trace : edgeTrace(options)
    const requestId = parent ? parent.requestId : options?.requestId
    const principal = parent ? parent.principal : options?.principal
    if (!parent && principal && d.vouch) {
      try {
        d.vouch(principal)
      } catch (err) {
        observed?.end(err)
        return Promise.reject(err)
      }
    }
    const meta = options?.meta ? { ...parent?.meta, ...options.meta } : parent?.meta
    const deadline = nestedDeadline(d.clock.now(), parent?.deadline, options?.timeout ?? route.policy.timeout)
    const local = route.local
    if (!local || !d.fastPath || options?.fallback !== undefined) {
      const sent = d.send(
        buildCall(
          service,
          action,
          input,
          requestId,
          trace,
          parent,
          principal,
          meta,
          deadline,
          route,
          options,
          1,
          [],
        ),
      )
      return observed ? observed.watch(sent) : sent
    }
    // Local fast path: no balancing (local is preferred), no breaker (nothing to route around
    // in-process), no serialization. A retryable failure of an idempotent action still gets
    // the full pipeline, which may find another instance.
    const ctx = new CallContext(
      d.port,
      service,
      requestId,
      trace,
      parent?.service,
      principal,
      deadline,
      meta ?? EMPTY_META,
    )
    ctx.callerUnit = d.unit
    if (!route.idempotent) return runLocal(d.host, d.port, local, input, ctx, options?.signal, observed)
    const result = runLocal(d.host, d.port, local, input, ctx, options?.signal, undefined)
    const retried = result.catch((err: unknown) => {
      if (!(err instanceof TesseraError && err.retryable) || d.registry.endpoints(service).length < 2)
        throw err
      const again = [d.nodeId]
      return d.send(
        buildCall(
          service,
          action,
          input,
          requestId,
          trace,
          parent,
          principal,
          meta,
          deadline,
          route,
          options,
          2,
          again,
        ),
      )
    })
    return observed ? observed.watch(retried) : retried
  }

  /**
   * No route: an unknown action of a known service is NOT_FOUND. With no instance known
   * at all (yet, or for a moment during a restart) the call has not left, so waiting a
   * little for one to appear is safe for any action.
   */
  #unrouted(
    parent: CallContext | undefined,
    service: string,
    action: string,
    input: unknown,
    options: CallOptions | undefined,
    known: TraceContext | null | undefined,
  ): Promise<unknown> {
    const d = this.#d
    if (d.registry.endpoints(service).length > 0) {
      return Promise.reject(
        new TesseraError('NOT_FOUND', `service ${service} has no action ${action}`, { service, action }),
      )
    }
    const wait = d.stopping() ? 0 : Math.min(d.waitForInstanceMs, options?.timeout ?? d.waitForInstanceMs)
    const appeared = () => d.registry.endpoints(service).length > 0
    return whenRegistry(d.registry, d.clock, appeared, wait, options?.signal).then((found) =>
      found
        ? this.#call(parent, service, action, input, options, undefined, known, undefined)
        : Promise.reject(
            markCallFailure(
              new TesseraError('UNAVAILABLE', `no instance of ${service} is available`, {
                service,
                action,
                delivered: false,
              }),
            ),
          ),
    )
  }
}

function buildCall(
  service: string,
  action: string,
  input: unknown,
  requestId: string | undefined,
  trace: TraceContext | undefined,
  parent: CallContext | undefined,
  principal: CallContext['principal'],
  meta: Readonly<Record<string, string>> | undefined,
  deadline: number,
  route: Route,
  options: CallOptions | undefined,
  attempt: number,
  tried: string[],
): Call {
  return {
    service,
    action,
    input,
    requestId,
    trace,
    caller: parent?.service,
    principal,
    meta,
    deadline,
    signal: options?.signal,
    idempotent: route.idempotent,
    policy: route.policy,
    attempt,
    tried,
    fallback: options?.fallback,
  }
}

function edgeTrace(options: CallOptions | undefined): TraceContext | undefined {
  if (options === undefined) return undefined
  if (options.trace !== undefined) return options.trace
  return options.traceparent ? parseTraceparent(options.traceparent, options.tracestate) : undefined
}
