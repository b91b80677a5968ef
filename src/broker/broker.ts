import { hostname } from 'node:os'
import { type Clock, newTrace, type Principal, systemClock } from '../context/index.ts'
import type {
  AnyService,
  CallOptions,
  PolicyOverrides,
  ServiceClient,
  ServiceKit,
} from '../contract/index.ts'
import { resolvePolicy } from '../contract/index.ts'
import { TesseraError } from '../errors/index.ts'
import {
  loadCredential,
  type NodeCredential,
  principalVerifier,
  principalVoucher,
} from '../identity/index.ts'
import {
  type BreakerChange,
  createBreakerRegistry,
  createRetryBudget,
  fallback,
  type Middleware,
  type Next,
  pipeline,
  retry,
} from '../middleware/index.ts'
import { type BreakerState, type Instrumentation, type Logger, silentLogger } from '../observability/index.ts'
import {
  type Balancer,
  excludeTried,
  excludeUnavailable,
  leastOutstanding,
  preferLocal,
  type ReadonlyRegistry,
  Registry,
  readonlyView,
  roundRobin,
} from '../registry/index.ts'
import type { Transport } from '../transport/index.ts'
import type { NodeInfo } from '../wire/index.ts'
import { balance } from './balance.ts'
import { CallContext, type ContextPort, createClient } from './call-context.ts'
import { Caller } from './caller.ts'
import { DeadlineWatch } from './deadline-watch.ts'
import { createDispatch } from './dispatch.ts'
import { DurableSubscriptions } from './durable-subscriptions.ts'
import { Emitter } from './emitter.ts'
import { EventRouter } from './event-router.ts'
import { Inbound } from './inbound.ts'
import { PendingRequests } from './pending-requests.ts'
import { attachPrincipalProof, principalProofOf } from './principal-proofs.ts'
import { whenRegistry } from './registry-wait.ts'
import { type RouteCache, RouteTable } from './routes.ts'
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
  /**
   * This node's credential from the runtime (give the transport the same one). With it
   * the broker trusts only what peers prove: a request or event from a peer with no
   * verified identity, or naming a principal no gateway's proof vouches for, is refused
   * and logged; callers are known by their certificates for `callers` rules; principals
   * this node asserts at the edge (`options.principal`) are signed when its certificate
   * allows it (a gateway) and refused (FORBIDDEN) otherwise. See docs/security.md.
   */
  credential?: NodeCredential
  /**
   * Told of every hop (calls on both sides, retries, breakers, bulkheads, events) for
   * traces and metrics; combine several with `combineInstrumentation`. Without one the
   * call path calls and allocates nothing for it.
   */
  instrumentation?: Instrumentation
}

export interface Broker extends AsyncDisposable {
  readonly nodeId: string
  /**
   * What this broker knows of the system (nodes, endpoints, announced actions), to
   * query and to watch. Read-only: only the broker feeds it, from its transport.
   */
  readonly registry: ReadonlyRegistry
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
  const credential = options.credential ? loadCredential(options.credential) : undefined
  if (credential && credential.identity.node !== nodeId) {
    throw new TesseraError(
      'BAD_REQUEST',
      `the credential was issued to node ${credential.identity.node}, not ${nodeId}`,
    )
  }
  const transport = options.transport
  const debug = options.debug ?? false
  const registry = new Registry(nodeId)
  const deadlines = new DeadlineWatch(clock)
  const ins = options.instrumentation
  const host = new ServiceHost({
    logger,
    instrumentation: ins,
    validateOutput: options.validateOutput ?? process.env.NODE_ENV !== 'production',
  })
  const pending = new PendingRequests(deadlines, (peer, id) => transport?.send(peer, { kind: 'cancel', id }))
  const outstanding = new Map<string, number>()
  const breakers = createBreakerRegistry({
    clock,
    ...(ins?.breakerChanged && {
      onChange: (c) => ins.breakerChanged?.(c.service, c.nodeId, breakerStateOf(c.type)),
    }),
    ...(ins?.breakerRejected && {
      onReject: (call, node) => ins.breakerRejected?.(call.service, call.action, node, call.trace),
    }),
  })
  const budget = createRetryBudget({ ...options.retryBudget, clock })
  let seq = 0
  let state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new'

  const port: ContextPort = {
    now: () => clock.now(),
    deadlines,
    logger,
    instrumentation: ins,
    call: (parent, service, action, input, callOptions) =>
      caller.call(parent, service, action, input, callOptions),
    emit: (from, event, payload, emitOptions) => emitter.emit(from, event, payload, emitOptions),
  }

  const waitForInstanceMs = options.waitForInstanceMs ?? 1_000
  const waitedFor = new WeakSet<string[]>()
  const chooser = pickBalancer(options.balancer, outstanding, breakers.isAvailable)
  const send: Next = pipeline(
    [
      fallback(),
      ...(options.middleware ?? []),
      retry({
        budget,
        clock,
        ...(ins?.callRetried && {
          onRetry: (call, err, delay) =>
            ins.callRetried?.(call.service, call.action, call.trace, call.attempt, err.code, delay),
        }),
      }),
      balance(registry, chooser, (call) => {
        // One wait per call, not per attempt: a call's attempts share their `tried` list.
        if (waitedFor.has(call.tried)) return Promise.resolve(false)
        waitedFor.add(call.tried)
        const stopping = state === 'stopping' || state === 'stopped'
        const ms = stopping ? 0 : Math.min(waitForInstanceMs, call.deadline - clock.now())
        const appeared = () => registry.endpoints(call.service).length > 0
        return whenRegistry(registry, clock, appeared, ms, call.signal)
      }),
      breakers.middleware(),
    ],
    createDispatch({ host, transport, pending, port, outstanding, unit: credential?.identity.unit }),
  )

  const routes = new RouteTable(host, registry, options.policy)
  const caller = new Caller({
    nodeId,
    clock,
    registry,
    routes,
    host,
    port,
    send,
    fastPath: (options.middleware ?? []).length === 0,
    waitForInstanceMs,
    stopping: () => state === 'stopping' || state === 'stopped',
    unit: credential?.identity.unit,
    instrumentation: ins,
    ...(credential ? { vouch: voucherOf(credential) } : {}),
  })
  const emitter = new Emitter({
    nodeId,
    clock,
    host,
    router: new EventRouter(registry),
    transport,
    port,
    handlerTimeout: resolvePolicy(options.policy).timeout,
    instrumentation: ins,
  })

  const durables = new DurableSubscriptions({
    nodeId,
    host,
    port,
    logger,
    handlerTimeout: resolvePolicy(options.policy).timeout,
    trustPrincipals: credential === undefined,
  })

  /** What a `started` hook gets: emitting as its service outside any call. */
  function kitOf(service: string): ServiceKit<any> {
    return {
      emit: (event, payload, emitOptions) =>
        emitter.emit(
          new CallContext(
            port,
            service,
            undefined,
            newTrace(),
            undefined,
            undefined,
            clock.now() + 30_000,
            {},
          ),
          event,
          payload,
          emitOptions,
        ),
    }
  }

  function localInfo(services = host.infos()): NodeInfo {
    return { nodeId, seq: ++seq, services, meta: { pid: process.pid, host: hostname() } }
  }

  function publishSelf(): void {
    const info = localInfo()
    registry.upsert(info)
    transport?.announce(info)
  }

  const verify = credential && {
    identityOf: (peer: string) => registry.node(peer)?.identity,
    principals: principalVerifier(credential),
  }
  const inbound = transport
    ? new Inbound({ host, transport, pending, port, logger, debug, ...(verify ? { verify } : {}) })
    : undefined

  const broker: Broker = {
    nodeId,
    registry: readonlyView(registry),
    get inFlight() {
      return host.inFlight
    },
    async start() {
      if (state !== 'new') throw new TesseraError('CONFLICT', `broker ${nodeId} was already started`)
      state = 'starting'
      for (const service of options.services ?? []) host.add(service)
      for (const service of host.services()) await service.started?.(kitOf(service.name))
      registry.upsert(localInfo())
      if (transport && inbound) {
        await transport.start(localInfo(), {
          onMessage: (from, msg) => inbound.onMessage(from, msg),
          onPeer: (info) => {
            if (info.nodeId !== nodeId) registry.upsert(info)
          },
          onPeerGone: (peer, reason, resending) => {
            registry.remove(peer, reason)
            breakers.forget(peer)
            pending.failNode(
              peer,
              new TesseraError('UNAVAILABLE', `node ${peer} left (${reason})`, { nodeId: peer }),
              resending,
            )
            inbound.peerGone(peer)
          },
          onLinkLost: (peer, reason, resending) =>
            pending.failNode(
              peer,
              new TesseraError('UNAVAILABLE', `lost touch with node ${peer} (${reason})`, { nodeId: peer }),
              resending,
            ),
          // A resend that cannot be answered: it may have run, so it is not marked undelivered.
          onLost: (peer, id, reason) =>
            pending.fail(
              id,
              new TesseraError(
                'UNAVAILABLE',
                `lost touch with node ${peer} (${reason}); the outcome is unknown`,
                {
                  nodeId: peer,
                  outcome: 'unknown',
                },
              ),
            ),
          inFlight: (peer) => outstanding.get(peer) ?? 0,
          onUndelivered: (peer, id, reason) =>
            pending.fail(
              id,
              new TesseraError('UNAVAILABLE', `node ${peer} is unreachable (${reason})`, {
                nodeId: peer,
                delivered: false,
              }),
            ),
        })
      }
      for (const service of host.services()) await durables.start(transport?.durable, service)
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
        await durables.stopAll()
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
      return createClient((action, input, callOptions, memo) =>
        // The memo holds this method's route between calls (see RouteTable.cached).
        caller.call(undefined, name, action, input, callOptions, memo as RouteCache),
      )
    },
    call(service, action, input, callOptions) {
      return caller.call(undefined, service, action, input, callOptions)
    },
    async addService(service) {
      host.add(service)
      try {
        await service.started?.(kitOf(service.name))
      } catch (err) {
        host.remove(service.name)
        throw err
      }
      if (state === 'running') {
        await durables.start(transport?.durable, service)
        publishSelf()
      }
    },
    async removeService(name) {
      const service = host.get(name)
      if (!service) throw new TesseraError('NOT_FOUND', `service ${name} is not hosted on node ${nodeId}`)
      const rest = host.infos().filter((s) => s.name !== name)
      const info = localInfo(rest)
      registry.upsert(info)
      transport?.announce(info)
      await durables.stop(name)
      if (transport) await sleep(clock, options.drainGraceMs ?? 100)
      await withTimeout(host.idle(), clock, options.drainTimeoutMs ?? 10_000)
      host.remove(name)
      await service.stopped?.()
    },
    async waitFor(services, timeoutMs = 10_000) {
      const missing = () => services.filter((s) => registry.endpoints(s).length === 0)
      if (await whenRegistry(registry, clock, () => missing().length === 0, timeoutMs)) return
      throw new TesseraError(
        'TIMEOUT',
        `services not available after ${timeoutMs} ms: ${missing().join(', ')}`,
      )
    },
    [Symbol.asyncDispose]() {
      return broker.stop()
    },
  }
  return broker
}

/**
 * Instances with an open circuit are skipped first, whatever the chooser (when all are
 * open, one is picked anyway and its breaker answers CIRCUIT_OPEN); then a local one is
 * preferred and instances this call already tried are avoided.
 */
function pickBalancer(
  choice: BrokerOptions['balancer'],
  outstanding: Map<string, number>,
  isAvailable: (service: string, nodeId: string) => boolean,
): Balancer {
  if (typeof choice === 'function') return excludeUnavailable(isAvailable, choice)
  const base =
    choice === 'least-outstanding' ? leastOutstanding((id) => outstanding.get(id) ?? 0) : roundRobin()
  return excludeUnavailable(isAvailable, excludeTried(preferLocal(base)))
}

function breakerStateOf(type: BreakerChange['type']): BreakerState {
  return type === 'opened' ? 'open' : type === 'half-opened' ? 'half-open' : 'closed'
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

/**
 * Signs the principals this node asserts at the edge, once per principal object (the
 * voucher caches by content). A node whose certificate does not allow it is refused:
 * only a unit that verifies end users (the gateway) may say whom a call is for.
 */
function voucherOf(credential: ReturnType<typeof loadCredential>): (principal: Principal) => void {
  const voucher = credential.identity.assertsPrincipal ? principalVoucher(credential) : undefined
  return (principal) => {
    if (principalProofOf(principal) !== undefined) return
    if (!voucher) {
      throw new TesseraError(
        'FORBIDDEN',
        `${credential.identity.unit} may not assert a principal; only a unit that verifies users (a gateway) may`,
      )
    }
    attachPrincipalProof(principal, voucher.vouch(principal))
  }
}
