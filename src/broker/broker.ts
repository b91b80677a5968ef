import { hostname } from 'node:os'
import {
  type Clock,
  childSpan,
  formatTraceparent,
  nestedDeadline,
  type Principal,
  parseTraceparent,
  systemClock,
  type TraceContext,
} from '../context/index.ts'
import type { AnyService, CallOptions, PolicyOverrides, ServiceClient } from '../contract/index.ts'
import { resolvePolicy } from '../contract/index.ts'
import { TesseraError } from '../errors/index.ts'
import {
  type Call,
  createBreakerRegistry,
  createRetryBudget,
  fallback,
  type Middleware,
  type Next,
  pipeline,
  retry,
} from '../middleware/index.ts'
import { type Logger, silentLogger } from '../observability/index.ts'
import {
  type Balancer,
  excludeTried,
  leastOutstanding,
  preferLocal,
  Registry,
  roundRobin,
} from '../registry/index.ts'
import type { NodeInfo, Transport } from '../transport/index.ts'
import { balance } from './balance.ts'
import { CallContext, type ContextPort, createClient } from './call-context.ts'
import { DeadlineWatch } from './deadline-watch.ts'
import { createDispatch, EMPTY_META, runLocal } from './dispatch.ts'
import { EventRouter, undeclaredEvent } from './event-router.ts'
import { Inbound } from './inbound.ts'
import { PendingRequests } from './pending-requests.ts'
import { type Route, RouteTable } from './routes.ts'
import { ServiceHost } from './service-host.ts'

export interface BrokerOptions {
  /** Unique id of this node; `[a-z0-9-]` only. Default: host, pid and a random suffix. */
  nodeId?: string
  /** Services hosted by this node. More can be added later with `addService`. */
  services?: AnyService[]
  /** How to reach other nodes. Without one, the broker only calls its own services. */
  transport?: Transport
  logger?: Logger
  clock?: Clock
  /** Send error stacks to remote callers. Off by default; never on in production. */
  debug?: boolean
  /** Check handler outputs against their schema. Default: on unless NODE_ENV is production. */
  validateOutput?: boolean
  /** Policy defaults for every call this broker makes; services' own declarations refine them. */
  policy?: PolicyOverrides
  /** How to choose among instances. Default 'round-robin'; local instances are always preferred. */
  balancer?: 'round-robin' | 'least-outstanding' | Balancer
  /** Extra caller-side middleware, run outside the retry loop (once per call). */
  middleware?: Middleware[]
  retryBudget?: { ratio?: number; minPerSecond?: number }
  /**
   * A call to a service with no known instance waits this long for one to appear (a
   * node starting, or restarting) before it fails with UNAVAILABLE. Default 1000 ms;
   * never longer than the call's own timeout.
   */
  waitForInstanceMs?: number
  /** On stop: how long to wait for in-flight work (ms). Default 10 000. */
  drainTimeoutMs?: number
  /** On stop: how long to keep serving after telling peers we leave, for calls already on their way (ms). Default 100. */
  drainGraceMs?: number
}

export interface Broker extends AsyncDisposable {
  readonly nodeId: string
  readonly registry: Registry
  /** Starts hosted services (their `started` hooks), then joins the transport. */
  start(): Promise<void>
  /** Drains (peers stop sending, in-flight work finishes), stops services, leaves. Idempotent. */
  stop(): Promise<void>
  /** A typed client for calls from outside any service (a script, a test, the gateway). */
  client<S extends AnyService>(name: S['name']): ServiceClient<S>
  /** Untyped call by name, for tools like the CLI; prefer `client`. */
  call(service: string, action: string, input: unknown, options?: CallOptions): Promise<unknown>
  /** Hosts one more service on this node, live. */
  addService(service: AnyService): Promise<void>
  /** Stops hosting a service: peers are told first, in-flight calls finish. */
  removeService(name: string): Promise<void>
  /** Resolves when every named service has at least one instance; rejects with TIMEOUT after `timeoutMs`. */
  waitFor(services: string[], timeoutMs?: number): Promise<void>
  /** Calls in flight on this node's handlers. */
  readonly inFlight: number
}

/**
 * Creates a broker: the node that hosts services and routes calls and events
 * between them over the given transport.
 *
 * @example
 * const broker = createBroker({ services: [users, orders] })
 * await broker.start()
 * const user = await broker.client<UsersService>('users').get({ id: '1' })
 * await broker.stop()
 */
export function createBroker(options: BrokerOptions = {}): Broker {
  const nodeId = options.nodeId ?? defaultNodeId()
  const clock = options.clock ?? systemClock
  const logger = (options.logger ?? silentLogger).child({ node: nodeId })
  const transport = options.transport
  const debug = options.debug ?? false
  const registry = new Registry(nodeId)
  const deadlines = new DeadlineWatch(clock)
  const host = new ServiceHost({
    logger,
    validateOutput: options.validateOutput ?? process.env.NODE_ENV !== 'production',
  })
  const pending = new PendingRequests(deadlines, (peer, id) => transport?.send(peer, { kind: 'cancel', id }))
  const outstanding = new Map<string, number>()
  const breakers = createBreakerRegistry({ clock })
  const budget = createRetryBudget({ ...options.retryBudget, clock })
  const events = new EventRouter(registry)
  let seq = 0
  let state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new'

  const port: ContextPort = {
    now: () => clock.now(),
    deadlines,
    call: (parent, service, action, input, callOptions) =>
      callFrom(parent, service, action, input, callOptions),
    emit: (from, event, payload) => emitFrom(from, event, payload),
  }

  const chooser = pickBalancer(options.balancer, outstanding)
  const send: Next = pipeline(
    [
      fallback(),
      ...(options.middleware ?? []),
      retry({ budget, clock }),
      balance(registry, chooser, breakers.isAvailable),
      breakers.middleware(),
    ],
    createDispatch({ host, transport, pending, port, outstanding }),
  )

  const routes = new RouteTable(host, registry, options.policy)
  const waitForInstanceMs = options.waitForInstanceMs ?? 1_000

  /** Resolves true as soon as `service` has an instance, false after `ms` or on abort. */
  function waitForEndpoint(service: string, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (ms <= 0 || signal?.aborted || state === 'stopping' || state === 'stopped')
      return Promise.resolve(false)
    return new Promise((resolve) => {
      const done = (found: boolean) => {
        unsubscribe()
        clock.clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve(found)
      }
      const onAbort = () => done(false)
      const timer = clock.setTimeout(() => done(false), ms)
      const unsubscribe = registry.subscribe(() => {
        if (registry.endpoints(service).length > 0) done(true)
      })
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }
  const fastPath = (options.middleware ?? []).length === 0
  const defaultTimeout = resolvePolicy(options.policy).timeout

  function callFrom(
    parent: CallContext | undefined,
    service: string,
    action: string,
    input: unknown,
    callOptions: CallOptions | undefined,
  ): Promise<unknown> {
    const route = routes.get(service, action)
    if (!route) {
      if (registry.endpoints(service).length > 0) {
        return Promise.reject(
          new TesseraError('NOT_FOUND', `service ${service} has no action ${action}`, { service, action }),
        )
      }
      // No instance known (yet, or for a moment during a restart): the call has not left,
      // so waiting a little for one to appear is safe for any action.
      const wait = Math.min(waitForInstanceMs, callOptions?.timeout ?? waitForInstanceMs)
      return waitForEndpoint(service, wait, callOptions?.signal).then((found) =>
        found
          ? callFrom(parent, service, action, input, callOptions)
          : Promise.reject(
              new TesseraError('UNAVAILABLE', `no instance of ${service} is available`, {
                service,
                action,
                delivered: false,
              }),
            ),
      )
    }
    // The caller's span; at the edge only if the caller brought a traceparent (else the callee starts the trace).
    const trace = parent ? parent.trace : edgeTrace(callOptions)
    const requestId = parent ? parent.requestId : callOptions?.requestId
    const principal = parent ? parent.principal : callOptions?.principal
    const meta = callOptions?.meta ? { ...parent?.meta, ...callOptions.meta } : parent?.meta
    const deadline = nestedDeadline(
      clock.now(),
      parent?.deadline,
      callOptions?.timeout ?? route.policy.timeout,
    )
    const local = route.local
    if (local && fastPath && callOptions?.fallback === undefined) {
      // Local fast path: no balancing (local is preferred), no breaker (nothing to route around
      // in-process), no serialization. A retryable failure of an idempotent action still gets
      // the full pipeline, which may find another instance.
      const ctx = new CallContext(
        port,
        service,
        requestId,
        trace,
        parent?.service,
        principal,
        deadline,
        meta ?? EMPTY_META,
      )
      const result = runLocal(host, port, local, input, ctx, callOptions?.signal)
      if (!route.idempotent) return result
      return result.catch((err: unknown) => {
        if (!(err instanceof TesseraError && err.retryable) || registry.endpoints(service).length < 2)
          throw err
        return send(
          makeCall(
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
            callOptions,
            2,
            [nodeId],
          ),
        )
      })
    }
    return send(
      makeCall(
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
        callOptions,
        1,
        [],
      ),
    )
  }

  async function emitFrom(from: CallContext, event: string, payload: unknown): Promise<void> {
    const service = host.get(from.service)
    const validator = service?.eventValidators[event]
    if (!validator) throw undeclaredEvent(from.service, event)
    const valid = validator.assert(payload, `event ${event}`)
    for (const [target, groups] of events.route(event)) {
      const trace = childSpan(from.trace)
      if (target === nodeId) {
        host.deliverEvent(event, valid, groups, (group) => eventContext(group, trace, from))
        continue
      }
      transport?.send(target, {
        kind: 'event',
        event,
        payload: valid,
        groups,
        ctx: {
          requestId: from.requestId,
          traceparent: formatTraceparent(trace),
          caller: from.service,
          ...(from.principal ? { principal: from.principal } : {}),
          timeout: Math.max(0, from.deadline - clock.now()),
        },
      })
    }
  }

  function eventContext(service: string, trace: TraceContext, from: CallContext): CallContext {
    return new CallContext(
      port,
      service,
      from.requestId,
      trace,
      from.service,
      from.principal,
      // An event handler is not bound by its emitter's deadline; it gets the default budget.
      clock.now() + defaultTimeout,
      from.meta,
    )
  }

  function localInfo(services = host.infos()): NodeInfo {
    return { nodeId, seq: ++seq, services, meta: { pid: process.pid, host: hostname() } }
  }

  function publishSelf(): void {
    const info = localInfo()
    registry.upsert(info)
    transport?.announce(info)
  }

  const inbound = transport ? new Inbound({ host, transport, pending, port, logger, debug }) : undefined

  const broker: Broker = {
    nodeId,
    registry,
    get inFlight() {
      return host.inFlight
    },
    async start() {
      if (state !== 'new') throw new TesseraError('CONFLICT', `broker ${nodeId} was already started`)
      state = 'starting'
      for (const service of options.services ?? []) host.add(service)
      for (const service of host.services()) await service.started?.()
      registry.upsert(localInfo())
      if (transport && inbound) {
        await transport.start(localInfo(), {
          onMessage: (from, msg) => inbound.onMessage(from, msg),
          onPeer: (info) => {
            if (info.nodeId !== nodeId) registry.upsert(info)
          },
          onPeerGone: (peer, reason) => {
            registry.remove(peer, reason)
            breakers.forget(peer)
            pending.failNode(
              peer,
              new TesseraError('UNAVAILABLE', `node ${peer} left (${reason})`, { nodeId: peer }),
            )
            inbound.peerGone(peer)
          },
        })
      }
      state = 'running'
      logger.info(
        { services: host.services().map((s) => s.name), transport: transport?.kind },
        'broker started',
      )
    },
    async stop() {
      if (state === 'stopping' || state === 'stopped') return
      const wasRunning = state === 'running'
      state = 'stopping'
      if (wasRunning) {
        // Peers stop routing to us first; calls already on their way are still served.
        transport?.announce(localInfo([]))
        if (transport) await sleep(clock, options.drainGraceMs ?? 100)
        await withTimeout(host.idle(), clock, options.drainTimeoutMs ?? 10_000)
        for (const service of host.services()) {
          try {
            await service.stopped?.()
          } catch (err) {
            logger.error({ service: service.name, err }, 'stopped hook failed')
          }
        }
      }
      await transport?.close()
      pending.failAll(new TesseraError('UNAVAILABLE', `broker ${nodeId} stopped`))
      deadlines.clear()
      state = 'stopped'
    },
    client<S extends AnyService>(name: S['name']): ServiceClient<S> {
      return createClient((action, input, callOptions) =>
        callFrom(undefined, name, action, input, callOptions),
      )
    },
    call(service, action, input, callOptions) {
      return callFrom(undefined, service, action, input, callOptions)
    },
    async addService(service) {
      host.add(service)
      try {
        await service.started?.()
      } catch (err) {
        host.remove(service.name)
        throw err
      }
      if (state === 'running') publishSelf()
    },
    async removeService(name) {
      const service = host.get(name)
      if (!service) throw new TesseraError('NOT_FOUND', `service ${name} is not hosted on node ${nodeId}`)
      const rest = host.infos().filter((s) => s.name !== name)
      const info = localInfo(rest)
      registry.upsert(info)
      transport?.announce(info)
      if (transport) await sleep(clock, options.drainGraceMs ?? 100)
      await withTimeout(host.idle(), clock, options.drainTimeoutMs ?? 10_000)
      host.remove(name)
      await service.stopped?.()
    },
    waitFor(services, timeoutMs = 10_000) {
      const ready = () => services.every((s) => registry.endpoints(s).length > 0)
      if (ready()) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = clock.setTimeout(() => {
          unsubscribe()
          const missing = services.filter((s) => registry.endpoints(s).length === 0)
          reject(
            new TesseraError(
              'TIMEOUT',
              `services not available after ${timeoutMs} ms: ${missing.join(', ')}`,
            ),
          )
        }, timeoutMs)
        const unsubscribe = registry.subscribe(() => {
          if (!ready()) return
          unsubscribe()
          clock.clearTimeout(timer)
          resolve()
        })
      })
    },
    [Symbol.asyncDispose]() {
      return broker.stop()
    },
  }
  return broker
}

function makeCall(
  service: string,
  action: string,
  input: unknown,
  requestId: string | undefined,
  trace: TraceContext | undefined,
  parent: CallContext | undefined,
  principal: Principal | undefined,
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
  return options?.traceparent ? parseTraceparent(options.traceparent, options.tracestate) : undefined
}

function pickBalancer(choice: BrokerOptions['balancer'], outstanding: Map<string, number>): Balancer {
  if (typeof choice === 'function') return choice
  const base =
    choice === 'least-outstanding' ? leastOutstanding((id) => outstanding.get(id) ?? 0) : roundRobin()
  return excludeTried(preferLocal(base))
}

function defaultNodeId(): string {
  const host = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
  return `${host}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms))
}

async function withTimeout(work: Promise<void>, clock: Clock, ms: number): Promise<void> {
  let timer: unknown
  await Promise.race([work, new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, ms)))])
  clock.clearTimeout(timer)
}
