/**
 * Small services with HTTP routes for the gateway tests, and a harness that runs them
 * on brokers joined by an in-process hub with the gateway's own broker.
 */
import { Type as T } from '@sinclair/typebox'
import { SignJWT } from 'jose'
import { type Broker, createBroker } from '../../../src/broker/index.ts'
import { type AnyService, defineService } from '../../../src/contract/index.ts'
import { type ErrorCode, TesseraError } from '../../../src/errors/index.ts'
import { createGateway, type Gateway, type GatewayOptions } from '../../../src/gateway/index.ts'
import { InProcessHub, inProcessTransport } from '../../../src/transport/in-process/index.ts'

export const SECRET = 'a-test-secret-that-is-long-enough-for-hs256'
export const ISSUER = 'tessera-test'
export const AUDIENCE = 'shop-api'

/** Counts handler runs per action, so tests can prove a request never reached a service. */
export function createCounter() {
  const counts = new Map<string, number>()
  return {
    hit(name: string) {
      counts.set(name, (counts.get(name) ?? 0) + 1)
    },
    of: (name: string) => counts.get(name) ?? 0,
  }
}
export type Counter = ReturnType<typeof createCounter>

export function catalogService(calls: Counter) {
  return defineService({
    name: 'catalog',
    actions: ({ action }) => ({
      list: action({
        input: T.Object({
          limit: T.Optional(T.Integer({ minimum: 1, maximum: 100 })),
          inStock: T.Optional(T.Boolean()),
          tags: T.Optional(T.Array(T.String())),
          q: T.Optional(T.String()),
        }),
        output: T.Object({ limit: T.Unknown(), inStock: T.Unknown(), tags: T.Unknown(), q: T.Unknown() }),
        http: { method: 'GET', path: '/items', auth: 'public' },
        description: 'Lists items',
        handler: (input) => {
          calls.hit('list')
          return { limit: input.limit, inStock: input.inStock, tags: input.tags, q: input.q }
        },
      }),
      get: action({
        input: T.Object({ id: T.Integer() }),
        output: T.Object({ id: T.Integer(), kind: T.String() }),
        http: { method: 'GET', path: '/items/:id', auth: 'public' },
        handler: ({ id }) => {
          calls.hit('get')
          return { id, kind: typeof id }
        },
      }),
      create: action({
        input: T.Object({ name: T.String({ minLength: 1 }), price: T.Number({ minimum: 0 }) }),
        output: T.Object({
          name: T.String(),
          price: T.Number(),
          by: T.Union([T.String(), T.Null()]),
          roles: T.Array(T.String()),
        }),
        http: { method: 'POST', path: '/items' },
        handler: ({ name, price }, ctx) => {
          calls.hit('create')
          return { name, price, by: ctx.principal?.id ?? null, roles: ctx.principal?.roles ?? [] }
        },
      }),
      rename: action({
        input: T.Object({ id: T.String(), name: T.String() }),
        output: T.Object({ id: T.String(), name: T.String() }),
        http: { method: 'PUT', path: '/items/:id/name', auth: 'public' },
        handler: (input) => {
          calls.hit('rename')
          return input
        },
      }),
      remove: action({
        input: T.Object({ id: T.String() }),
        output: T.Undefined(),
        http: { method: 'DELETE', path: '/items/:id', auth: 'public' },
        handler: () => {
          calls.hit('remove')
          return undefined
        },
      }),
      secret: action({
        input: T.Object({}),
        output: T.String(),
        handler: () => {
          calls.hit('secret')
          return 'internal only'
        },
      }),
    }),
  })
}

export const faults = defineService({
  name: 'faults',
  actions: ({ action }) => ({
    fail: action({
      input: T.Object({ code: T.String() }),
      output: T.Never(),
      http: { method: 'GET', path: '/fail/:code', auth: 'public' },
      handler: ({ code }) => {
        throw new TesseraError(code as ErrorCode, `failure with a secret: hunter2 (${code})`, { code })
      },
    }),
    boom: action({
      input: T.Object({}),
      output: T.Never(),
      http: { method: 'GET', path: '/boom', auth: 'public' },
      handler: () => {
        throw new Error('database password is hunter2')
      },
    }),
    slow: action({
      input: T.Object({ ms: T.Integer() }),
      output: T.Object({ slept: T.Integer() }),
      http: { method: 'GET', path: '/slow', auth: 'public' },
      handler: ({ ms }, ctx) =>
        new Promise((resolve, reject) => {
          slowStarted.count++
          const timer = setTimeout(() => resolve({ slept: ms }), ms)
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer)
            slowAborted.count++
            reject(ctx.signal.reason)
          })
        }),
    }),
    context: action({
      input: T.Object({}),
      output: T.Object({
        requestId: T.String(),
        traceId: T.String(),
        principal: T.Union([T.String(), T.Null()]),
      }),
      http: { method: 'GET', path: '/context', auth: 'public' },
      handler: (_input, ctx) => ({
        requestId: ctx.requestId,
        traceId: ctx.trace.traceId,
        principal: ctx.principal?.id ?? null,
      }),
    }),
  }),
})

/** How many `faults.slow` handlers saw their signal abort. */
export const slowAborted = { count: 0 }
/** How many `faults.slow` handlers started (tests wait for a call to be in flight). */
export const slowStarted = { count: 0 }

export const OrderPlaced = T.Object({ orderId: T.String(), userId: T.String() })

export const orders = defineService({
  name: 'orders',
  events: { 'order.placed': OrderPlaced },
  actions: ({ action }) => ({
    place: action({
      input: T.Object({ orderId: T.String(), userId: T.String() }),
      output: T.Object({ ok: T.Boolean() }),
      http: { method: 'POST', path: '/orders', auth: 'public' },
      handler: async (order, ctx) => {
        await ctx.emit('order.placed', order)
        return { ok: true }
      },
    }),
  }),
})

export function token(
  claims: Record<string, unknown> = {},
  options: {
    secret?: string
    audience?: string
    issuer?: string
    expiresIn?: string | number
    sub?: string
  } = {},
): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.sub ?? 'user-1')
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET))
}

export interface GatewayHarness extends AsyncDisposable {
  gateway: Gateway
  url: string
  hub: InProcessHub
  gatewayBroker: Broker
  /** Starts `service` on a broker of its own on the hub; resolves once the gateway's broker sees it. */
  addNode(service: AnyService): Promise<Broker>
}

/**
 * Starts each service on its own broker, a broker for the gateway on the same hub, and
 * the gateway. Use with `await using`.
 */
export async function startGateway(
  services: AnyService[],
  options: Omit<GatewayOptions, 'broker' | 'auth'> & { auth?: GatewayOptions['auth'] | 'none' } = {},
): Promise<GatewayHarness> {
  const hub = new InProcessHub()
  const brokers: Broker[] = []
  const make = (nodeId: string, hosted: AnyService[]) => {
    const broker = createBroker({
      nodeId,
      services: hosted,
      transport: inProcessTransport(hub),
      drainGraceMs: 0,
    })
    brokers.push(broker)
    return broker
  }
  const gatewayBroker = make('node-gateway', [])
  await gatewayBroker.start()
  const addNode = async (service: AnyService) => {
    const broker = make(`node-${service.name}-${brokers.length}`, [service])
    await broker.start()
    await gatewayBroker.waitFor([service.name])
    return broker
  }
  for (const s of services) await addNode(s)
  const { auth = { jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } }, ...rest } = options
  const gateway = await createGateway({
    ...rest,
    ...(auth === 'none' ? {} : { auth }),
    broker: gatewayBroker,
  })
  const harness: GatewayHarness = {
    gateway,
    url: gateway.url,
    hub,
    gatewayBroker,
    addNode,
    async [Symbol.asyncDispose]() {
      await gateway.close()
      await Promise.all(brokers.map((b) => b.stop()))
    },
  }
  return harness
}

/** The parsed JSON body of a response, loosely typed for assertions. */
export function json(res: Response): Promise<any> {
  return res.json()
}
