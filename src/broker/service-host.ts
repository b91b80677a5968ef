import type { ActionDefinition, AnyService } from '../contract/index.ts'
import { resolvePolicy } from '../contract/index.ts'
import { normalizeError, TesseraError } from '../errors/index.ts'
import { type Bulkhead, createBulkhead } from '../middleware/index.ts'
import type { Logger } from '../observability/index.ts'
import type { ServiceInfo } from '../transport/index.ts'
import type { CallContext } from './call-context.ts'

interface HostedAction {
  definition: ActionDefinition
  bulkhead: Bulkhead | undefined
  maxConcurrent: number
}

interface HostedService {
  definition: AnyService
  actions: Map<string, HostedAction>
  info: ServiceInfo
}

export interface ServiceHostOptions {
  logger: Logger
  /** Check outputs against their schema too (dev and test); inputs are always checked. */
  validateOutput: boolean
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
        definition: action,
        bulkhead: policy.bulkhead === false ? undefined : createBulkhead(policy.bulkhead),
        maxConcurrent: policy.bulkhead === false ? Number.POSITIVE_INFINITY : policy.bulkhead.maxConcurrent,
      })
      info.actions[name] = action.policy
        ? { idempotent: action.idempotent, policy: action.policy }
        : { idempotent: action.idempotent }
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

  /**
   * Runs one action. Rejects with UNAVAILABLE when the service is not hosted here
   * (the caller's view was stale: it may retry elsewhere), NOT_FOUND for an unknown
   * action, VALIDATION for a bad input, OVERLOADED when the bulkhead is full.
   */
  async invoke(service: string, action: string, input: unknown, ctx: CallContext): Promise<unknown> {
    const hosted = this.#services.get(service)
    if (!hosted)
      throw new TesseraError('UNAVAILABLE', `service ${service} is not hosted on this node`, { service })
    const entry = hosted.actions.get(action)
    if (!entry) {
      throw new TesseraError('NOT_FOUND', `service ${service} has no action ${action}`, { service, action })
    }
    this.#inFlight++
    try {
      const bulkhead = entry.bulkhead
      if (!bulkhead) return await this.#run(entry.definition, input, ctx)
      // Only a call that has to queue needs the signal (creating it costs an AbortController).
      const signal = bulkhead.running >= entry.maxConcurrent ? ctx.signal : undefined
      return await bulkhead.run(() => this.#run(entry.definition, input, ctx), signal)
    } finally {
      ctx.finish()
      if (--this.#inFlight === 0) this.#wakeIdle()
    }
  }

  async #run(action: ActionDefinition, input: unknown, ctx: CallContext): Promise<unknown> {
    const valid = action.input.assert(input, 'input')
    const output = await action.handler(valid, ctx)
    if (this.#options.validateOutput && !action.output.check(output)) {
      // The handler broke its own contract: the caller gets INTERNAL, the details go to the log.
      try {
        action.output.assert(output, 'output')
      } catch (err) {
        this.#options.logger.error({ service: ctx.service, err }, 'handler returned an invalid output')
      }
      throw new TesseraError('INTERNAL', `${ctx.service} returned an output that does not match its schema`)
    }
    return output
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
      this.#inFlight++
      Promise.resolve()
        .then(() => sub.handler(payload, ctx))
        .catch((err: unknown) => {
          const e = normalizeError(err)
          this.#options.logger.error({ service: group, event, code: e.code, err }, 'event handler failed')
        })
        .finally(() => {
          ctx.finish()
          if (--this.#inFlight === 0) this.#wakeIdle()
        })
    }
  }

  /** Resolves once nothing is in flight (at once if idle). */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters
    this.#idleWaiters = []
    for (const wake of waiters) wake()
  }
}
