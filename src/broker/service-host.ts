import type { ActionDefinition, AnyService } from '../contract/index.ts'
import { resolvePolicy } from '../contract/index.ts'
import { normalizeError, TesseraError } from '../errors/index.ts'
import { type Bulkhead, createBulkhead } from '../middleware/index.ts'
import type { Instrumentation, Logger } from '../observability/index.ts'
import type { ActionInfo, ServiceInfo } from '../wire/index.ts'
import type { CallContext } from './call-context.ts'
import { elapsedSince, ObservedRun, startTime } from './observed-run.ts'

/** One action hosted here, with what running it needs, resolved once. */
export interface HostedAction {
  readonly service: string
  readonly name: string
  readonly definition: ActionDefinition
  readonly bulkhead: Bulkhead | undefined
  readonly maxConcurrent: number
}

interface HostedService {
  definition: AnyService
  actions: Map<string, HostedAction>
  info: ServiceInfo
}

/** Told how a run ended, exactly once: `err` set on failure, else `value`. An object, not a closure, so a hot caller can be its own completion. */
export interface Completion {
  complete(err: unknown, value?: unknown): void
}

/**
 * What callers and gateways learn about an action. Schemas travel as JSON Schema so
 * a gateway can route and document actions whose code it never loaded.
 */
function actionInfo(action: ActionDefinition): ActionInfo {
  const info: ActionInfo = {
    idempotent: action.idempotent,
    input: toJsonSchema(action.input.schema),
    output: toJsonSchema(action.output.schema),
  }
  if (action.policy) info.policy = action.policy
  if (action.http) info.http = action.http
  if (action.description) info.description = action.description
  return info
}

/** TypeBox schemas are JSON Schema plus symbol-keyed metadata, which JSON and msgpack drop anyway. */
function toJsonSchema(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema))
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

export interface ServiceHostOptions {
  logger: Logger
  /** Check outputs against their schema too (dev and test); inputs are always checked. */
  validateOutput: boolean
  /** Told of every handler run and event delivery; absent, the host calls nothing for it. */
  instrumentation?: Instrumentation | undefined
}

/**
 * Runs the handlers of the services this node hosts: the callee side of every call,
 * local or remote. Validates input at this boundary, applies the action's bulkhead,
 * counts work in flight so a shutdown can wait for it.
 */
export class ServiceHost {
  readonly #services = new Map<string, HostedService>()
  readonly #options: ServiceHostOptions
  #inFlight = 0
  #idleWaiters: (() => void)[] = []

  constructor(options: ServiceHostOptions) {
    this.#options = options
  }

  add(definition: AnyService): void {
    if (this.#services.has(definition.name)) {
      throw new TesseraError('CONFLICT', `service ${definition.name} is already hosted on this node`)
    }
    const actions = new Map<string, HostedAction>()
    const info: ServiceInfo = {
      name: definition.name,
      version: definition.version,
      actions: {},
      subscriptions: {},
    }
    if (definition.policy) info.policy = definition.policy
    for (const [name, action] of Object.entries(definition.actions as Record<string, ActionDefinition>)) {
      const policy = resolvePolicy(definition.policy, action.policy)
      actions.set(name, {
        service: definition.name,
        name,
        definition: action,
        bulkhead: policy.bulkhead === false ? undefined : createBulkhead(policy.bulkhead),
        maxConcurrent: policy.bulkhead === false ? Number.POSITIVE_INFINITY : policy.bulkhead.maxConcurrent,
      })
      info.actions[name] = actionInfo(action)
    }
    for (const [event, sub] of Object.entries(definition.on)) info.subscriptions[event] = sub.mode
    this.#services.set(definition.name, { definition, actions, info })
  }

  remove(name: string): AnyService | undefined {
    const hosted = this.#services.get(name)
    this.#services.delete(name)
    return hosted?.definition
  }

  get(name: string): AnyService | undefined {
    return this.#services.get(name)?.definition
  }

  has(name: string): boolean {
    return this.#services.has(name)
  }

  services(): AnyService[] {
    return [...this.#services.values()].map((s) => s.definition)
  }

  infos(): ServiceInfo[] {
    return [...this.#services.values()].map((s) => s.info)
  }

  get inFlight(): number {
    return this.#inFlight
  }

  /** What each run is told to (see ObservedRun); undefined: nothing is. */
  get instrumentation(): Instrumentation | undefined {
    return this.#options.instrumentation
  }

  /**
   * Runs one action. Rejects with UNAVAILABLE when the service is not hosted here
   * (the caller's view was stale: it may retry elsewhere), NOT_FOUND for an unknown
   * action, VALIDATION for a bad input, OVERLOADED when the bulkhead is full.
   */
  invoke(service: string, action: string, input: unknown, ctx: CallContext): Promise<unknown> {
    const entry = this.#services.get(service)?.actions.get(action)
    if (!entry) return Promise.reject(this.missing(service, action))
    return new Promise((resolve, reject) =>
      this.run(entry, input, ctx, { complete: (err, value) => (err ? reject(err) : resolve(value)) }),
    )
  }

  /** The action `service.action` if this node hosts it. */
  lookup(service: string, action: string): HostedAction | undefined {
    return this.#services.get(service)?.actions.get(action)
  }

  /**
   * The error for an action not hosted here: UNAVAILABLE when the whole service is
   * missing (the caller's view was stale: it may retry elsewhere), NOT_FOUND for an
   * unknown action of a hosted service.
   */
  missing(service: string, action: string): TesseraError {
    return this.#services.has(service)
      ? new TesseraError('NOT_FOUND', `service ${service} has no action ${action}`, { service, action })
      : new TesseraError('UNAVAILABLE', `service ${service} is not hosted on this node`, { service })
  }

  /**
   * Runs a looked-up action (bulkhead, input validation, handler, output validation)
   * and reports to `done` exactly once. Callback style on purpose: this is the hot
   * path of every call, and each promise layer saved is measurable. VALIDATION for a
   * bad input, OVERLOADED when the bulkhead and its queue are full. `observed`: `done`
   * tells the instrumentation of this run itself (a local call, see `runLocal`), so no
   * ObservedRun is made around it.
   */
  run(entry: HostedAction, input: unknown, ctx: CallContext, done: Completion, observed = false): void {
    const ins = this.#options.instrumentation
    if (ins !== undefined && !observed) done = new ObservedRun(ins, this, entry, ctx, done)
    if (entry.definition.callers && !this.#callerAllowed(entry, ctx, done)) return
    const bulkhead = entry.bulkhead
    if (bulkhead && !bulkhead.tryEnter()) {
      // Full: queue through the bulkhead (only now is the signal worth creating).
      ins?.bulkheadQueued?.(entry.service, entry.name, bulkhead.queued)
      bulkhead
        .run(
          () =>
            new Promise<unknown>((resolve, reject) => {
              this.#execute(
                entry,
                input,
                ctx,
                { complete: (err, value) => (err ? reject(err) : resolve(value)) },
                undefined,
              )
            }),
          ctx.signal,
        )
        .then(
          (value) => done.complete(undefined, value),
          (err: unknown) => {
            if (ins && err instanceof TesseraError && err.code === 'OVERLOADED')
              ins.bulkheadRejected?.(entry.service, entry.name)
            done.complete(err ?? new TesseraError('INTERNAL', 'unknown failure'))
          },
        )
      return
    }
    this.#execute(entry, input, ctx, done, bulkhead)
  }

  /**
   * The action's caller rule against who calls: the calling service, else the calling
   * unit. A call from nobody known (a script on a system without credentials) passes:
   * without credentials nobody is verified, and the rule only catches mistakes. A refusal
   * answers FORBIDDEN and is logged; the handler does not run.
   */
  #callerAllowed(entry: HostedAction, ctx: CallContext, done: Completion): boolean {
    const callers = entry.definition.callers!
    const who = ctx.caller ?? ctx.callerUnit
    if (who === undefined) return true
    if (callers.has(who) || (ctx.callerUnit !== undefined && callers.has(ctx.callerUnit))) return true
    // `callerUnit`, not `unit`: under the runtime `unit` names the unit whose log this is.
    ctx.log.warn(
      { service: entry.service, action: entry.name, caller: who, callerUnit: ctx.callerUnit },
      'call refused: caller not allowed',
    )
    done.complete(
      new TesseraError('FORBIDDEN', `${who} may not call ${entry.service}.${entry.name}`, {
        service: entry.service,
        action: entry.name,
        caller: who,
      }),
    )
    return false
  }

  #execute(
    entry: HostedAction,
    input: unknown,
    ctx: CallContext,
    done: Completion,
    slot: Bulkhead | undefined,
  ): void {
    this.#inFlight++
    const action = entry.definition
    let result: unknown
    try {
      result = action.handler(action.input.assert(input, 'input'), ctx)
    } catch (err) {
      this.#finish(ctx, slot, done, err ?? new TesseraError('INTERNAL', 'handler threw undefined'), undefined)
      return
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.#checkOutput(action, value, ctx, slot, done),
        (err: unknown) =>
          this.#finish(
            ctx,
            slot,
            done,
            err ?? new TesseraError('INTERNAL', 'handler rejected with undefined'),
            undefined,
          ),
      )
    } else {
      // A synchronous handler settles without any promise of its own.
      this.#checkOutput(action, result, ctx, slot, done)
    }
  }

  #checkOutput(
    action: ActionDefinition,
    output: unknown,
    ctx: CallContext,
    slot: Bulkhead | undefined,
    done: Completion,
  ): void {
    if (!this.#options.validateOutput || action.output.check(output)) {
      this.#finish(ctx, slot, done, undefined, output)
      return
    }
    // The handler broke its own contract: the caller gets INTERNAL, the details go to the log.
    try {
      action.output.assert(output, 'output')
    } catch (err) {
      ctx.log.error({ service: ctx.service, err }, 'handler returned an invalid output')
    }
    const error = new TesseraError(
      'INTERNAL',
      `${ctx.service} returned an output that does not match its schema`,
    )
    this.#finish(ctx, slot, done, error, undefined)
  }

  /** Releases what the run held (deadline timer, bulkhead slot, in-flight count), then reports. */
  #finish(
    ctx: CallContext,
    slot: Bulkhead | undefined,
    done: Completion,
    err: unknown,
    value: unknown,
  ): void {
    ctx.finish()
    slot?.leave()
    if (--this.#inFlight === 0) this.#wakeIdle()
    done.complete(err, value)
  }

  /** Runs the named groups' handlers for one event. Handler failures are logged, not thrown. */
  deliverEvent(
    event: string,
    payload: unknown,
    groups: readonly string[],
    makeCtx: (service: string) => CallContext,
  ): void {
    for (const group of groups) {
      const hosted = this.#services.get(group)
      const sub =
        hosted && Object.hasOwn(hosted.definition.on, event) ? hosted.definition.on[event] : undefined
      if (!sub) continue
      const ctx = makeCtx(group)
      const ins = this.#options.instrumentation
      const started = ins === undefined ? -1 : startTime(ins, 'event', group, event, ctx.caller)
      const span = ins?.eventStarted?.(group, event, ctx.parentTrace) as CallContext['trace'] | undefined
      if (span !== undefined) ctx.useTrace(span)
      let outcome = 'OK'
      this.#inFlight++
      Promise.resolve()
        .then(() => sub.handler(payload, ctx))
        .catch((err: unknown) => {
          const e = normalizeError(err)
          outcome = e.code
          ctx.log.error({ service: group, event, code: e.code, err }, 'event handler failed')
        })
        .finally(() => {
          ctx.finish()
          if (--this.#inFlight === 0) this.#wakeIdle()
          ins?.eventEnded?.(group, event, span, outcome, elapsedSince(started))
        })
    }
  }

  /**
   * Runs `service`'s durable handler of `event` once; resolves when it succeeded,
   * rejects with its error, so the durable consumer can ack or redeliver.
   * Rejects NOT_FOUND when the service no longer hosts that subscription.
   */
  async runDurable(service: string, event: string, payload: unknown, ctx: CallContext): Promise<void> {
    const hosted = this.#services.get(service)
    const sub = hosted && Object.hasOwn(hosted.definition.on, event) ? hosted.definition.on[event] : undefined
    if (!sub) throw new TesseraError('NOT_FOUND', `service ${service} does not subscribe to ${event} here`)
    const ins = this.#options.instrumentation
    const started = ins === undefined ? -1 : startTime(ins, 'event', service, event, ctx.caller)
    const span = ins?.eventStarted?.(service, event, ctx.parentTrace) as CallContext['trace'] | undefined
    if (span !== undefined) ctx.useTrace(span)
    let outcome = 'OK'
    this.#inFlight++
    try {
      await sub.handler(payload, ctx)
    } catch (err) {
      const e = normalizeError(err)
      outcome = e.code
      ctx.log.error(
        { service, event, eventId: ctx.eventId, code: e.code, err },
        'durable event handler failed',
      )
      // The original, not the normalised one: its message goes to the dead letter, which only operators read.
      throw err
    } finally {
      ctx.finish()
      if (--this.#inFlight === 0) this.#wakeIdle()
      ins?.eventEnded?.(service, event, span, outcome, elapsedSince(started))
    }
  }

  /** Resolves once nothing is in flight (at once if idle). */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  #wakeIdle(): void {
    if (this.#idleWaiters.length === 0) return
    const waiters = this.#idleWaiters
    this.#idleWaiters = []
    for (const wake of waiters) wake()
  }
}
