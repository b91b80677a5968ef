import type { Static, TSchema } from '@sinclair/typebox'
import type { CallOptions, Context, EmitOptions, EventSchemas } from './context.ts'
import { type DurableOptions, type ResolvedDurable, resolveDurable } from './durable.ts'
import type { PolicyOverrides } from './policy.ts'
import { type RouteRateLimit, rateLimitProblem } from './route-rate-limit.ts'
import { compileValidator, type Validator } from './validator.ts'

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** An HTTP route for the gateway. Only actions with a route are reachable from outside. */
export interface HttpRoute {
  method: HttpMethod
  /** fastify-style path, e.g. `/users/:id`; params, query and body merge into the input. */
  path: string
  /** `public` needs no token; `authenticated` (the default) needs a valid bearer token. */
  auth?: 'public' | 'authenticated'
  /**
   * This route's own limit, on top of the gateway's global one: at most `max` requests per
   * `windowMs` per client IP on a public route, per principal on an authenticated one;
   * past it the gateway answers 429 with `Retry-After` and makes no call. For routes that
   * are expensive or a guessing target (a login). Checked by `defineService` and again by
   * the gateway, which skips a route announced with a malformed limit.
   */
  rateLimit?: RouteRateLimit
}

export interface ActionSpec<I extends TSchema, O extends TSchema, E extends EventSchemas> {
  input: I
  output: O
  handler: (input: Static<I>, ctx: Context<E>) => Promise<Static<O>> | Static<O>
  /** Safe to run twice: only idempotent actions are retried or hedged. Default false. */
  idempotent?: boolean
  policy?: PolicyOverrides
  http?: HttpRoute
  description?: string
  /**
   * Who may call this action: service names, or unit names for units that host no
   * service (an HTTP gateway unit is named after its config entry, e.g. `gateway`).
   * Checked by the callee on every call, local or remote, against the caller's verified
   * identity on a system with credentials (the runtime's), else against the calling
   * service's name. A refused call answers FORBIDDEN and runs nothing. Default: anyone.
   *
   * @example
   * reserve: action({ ..., callers: ['orders'] }) // only orders may reserve stock
   */
  callers?: readonly string[]
}

export interface ActionDefinition<I extends TSchema = TSchema, O extends TSchema = TSchema> {
  readonly input: Validator<I>
  readonly output: Validator<O>
  readonly handler: (input: Static<I>, ctx: Context<any>) => Promise<Static<O>> | Static<O>
  readonly idempotent: boolean
  readonly policy: PolicyOverrides | undefined
  readonly http: HttpRoute | undefined
  readonly description: string | undefined
  /** See `ActionSpec.callers`; undefined lets anyone call. */
  readonly callers: ReadonlySet<string> | undefined
}

export type EventMode = 'balanced' | 'broadcast'

export type EventHandler<P> = (payload: P, ctx: Context) => void | Promise<void>

export interface SubscriptionSpec<P> {
  /** balanced: one instance of this service gets each event; broadcast: every instance does. */
  mode?: EventMode
  /**
   * The emitter declares this event `durable`: consume it from the durable stream (at
   * least once, acked after the handler succeeds; see `ctx.eventId`) instead of the
   * at-most-once path, with these redelivery options (`true`: the defaults). Both sides
   * must agree; docs/events.md. Default false.
   */
  durable?: boolean | DurableOptions
  handler: EventHandler<P>
}

export interface Subscription {
  readonly mode: EventMode
  /** Consumed from the durable stream with these options (`SubscriptionSpec.durable`); absent: at most once. */
  readonly durable?: ResolvedDurable | undefined
  readonly handler: EventHandler<any>
}

export type ActionMap = Record<string, ActionDefinition<any, any>>

/** What a service's `started` hook receives. */
export interface ServiceKit<E extends EventSchemas> {
  /** Emits one of the service's events as the service, outside any call (a fresh trace). */
  emit<K extends keyof E & string>(event: K, payload: Static<E[K]>, options?: EmitOptions): Promise<void>
}

export interface ServiceSpec<N extends string, E extends EventSchemas, A extends ActionMap> {
  name: N
  version?: string
  /** Events this service emits, with their payload schemas. */
  events?: E
  /** Build the actions with `action`, which types `ctx.emit` with this service's events. */
  actions: (kit: {
    action: <I extends TSchema, O extends TSchema>(spec: ActionSpec<I, O, E>) => ActionDefinition<I, O>
  }) => A
  /** Event subscriptions: spread one `subscribe<OtherService>({...})` per emitting service. */
  on?: Record<string, Subscription>
  /** Default policy for all actions of this service; each action may refine it. */
  policy?: PolicyOverrides
  /**
   * Runs before the service takes traffic; a throw fails the start. `kit.emit` emits
   * this service's events outside any call, for as long as the service is hosted (an
   * outbox relay's loop); a durable emit there rejects until the transport is up.
   */
  started?: (kit: ServiceKit<E>) => void | Promise<void>
  /** Runs after in-flight calls drained, on shutdown. */
  stopped?: () => void | Promise<void>
}

export interface ServiceDefinition<
  N extends string = string,
  E extends EventSchemas = EventSchemas,
  A extends ActionMap = ActionMap,
> {
  readonly name: N
  readonly version: string
  readonly events: E
  readonly eventValidators: { readonly [K in keyof E]: Validator<E[K]> }
  readonly actions: A
  readonly on: Readonly<Record<string, Subscription>>
  readonly policy: PolicyOverrides | undefined
  readonly started: ((kit: ServiceKit<any>) => void | Promise<void>) | undefined
  readonly stopped: (() => void | Promise<void>) | undefined
}

export type AnyService = ServiceDefinition<string, any, any>

export type InputOf<D> = D extends ActionDefinition<infer I, any> ? Static<I> : never
export type OutputOf<D> = D extends ActionDefinition<any, infer O> ? Static<O> : never

/** The caller's view of a service: one async function per action, typed from the definition. */
export type ServiceClient<S extends AnyService> = {
  readonly [K in keyof S['actions']]: (
    input: InputOf<S['actions'][K]>,
    options?: CallOptions,
  ) => Promise<OutputOf<S['actions'][K]>>
}

export type EventPayload<S extends AnyService, K extends keyof S['events']> = Static<S['events'][K]>

const NAME = /^[a-z][a-z0-9-]*$/
const ACTION_NAME = /^[a-zA-Z][a-zA-Z0-9_]*$/

/**
 * Defines a service: its name, actions with schemas, the events it emits and those
 * it listens to. Schemas are compiled once here. Throws on an invalid name.
 *
 * @example
 * export const users = defineService({
 *   name: 'users',
 *   actions: ({ action }) => ({
 *     get: action({
 *       input: Type.Object({ id: Type.String() }),
 *       output: User,
 *       idempotent: true,
 *       handler: async ({ id }) => findUser(id),
 *     }),
 *   }),
 * })
 * export type UsersService = typeof users
 */
export function defineService<
  const N extends string,
  A extends ActionMap,
  E extends EventSchemas = Record<never, never>,
>(spec: ServiceSpec<N, E, A>): ServiceDefinition<N, E, A> {
  if (!NAME.test(spec.name)) {
    throw new TypeError(`service name "${spec.name}" must match ${NAME} (lowercase, digits, dashes)`)
  }
  const actions = spec.actions({ action: buildAction })
  for (const actionName of Object.keys(actions)) {
    if (!ACTION_NAME.test(actionName)) {
      throw new TypeError(`action name "${spec.name}.${actionName}" must match ${ACTION_NAME}`)
    }
  }
  const events = (spec.events ?? {}) as E
  const eventValidators = Object.fromEntries(
    Object.entries(events).map(([name, schema]) => [name, compileValidator(schema)]),
  ) as ServiceDefinition<N, E, A>['eventValidators']
  return {
    name: spec.name,
    version: spec.version ?? '0.0.0',
    events,
    eventValidators,
    actions,
    on: spec.on ?? {},
    policy: spec.policy,
    started: spec.started,
    stopped: spec.stopped,
  }
}

function buildAction<I extends TSchema, O extends TSchema, E extends EventSchemas>(
  spec: ActionSpec<I, O, E>,
): ActionDefinition<I, O> {
  if (spec.http?.rateLimit !== undefined) {
    const problem = rateLimitProblem(spec.http.rateLimit)
    if (problem) throw new TypeError(`route ${spec.http.method} ${spec.http.path}: ${problem}`)
  }
  if (
    spec.callers !== undefined &&
    !(Array.isArray(spec.callers) && spec.callers.every((c) => typeof c === 'string' && c !== ''))
  ) {
    throw new TypeError('callers must be a list of service or unit names')
  }
  return {
    input: compileValidator(spec.input),
    output: compileValidator(spec.output),
    handler: spec.handler as ActionDefinition<I, O>['handler'],
    idempotent: spec.idempotent ?? false,
    policy: spec.policy,
    http: spec.http,
    description: spec.description,
    callers: spec.callers ? new Set(spec.callers) : undefined,
  }
}

/**
 * Typed subscriptions to the events of service `S` (imported with `import type`).
 * A bare function subscribes balanced; `{ mode: 'broadcast', handler }` reaches every instance.
 *
 * @example
 * on: { ...subscribe<OrdersService>({ 'order.placed': async (order, ctx) => notify(order) }) }
 */
export function subscribe<S extends AnyService>(
  handlers: {
    [K in keyof S['events'] & string]?:
      | EventHandler<Static<S['events'][K]>>
      | SubscriptionSpec<Static<S['events'][K]>>
  },
): Record<string, Subscription> {
  const out: Record<string, Subscription> = {}
  for (const [event, h] of Object.entries(handlers)) {
    if (h === undefined) continue
    out[event] =
      typeof h === 'function'
        ? { mode: 'balanced', handler: h }
        : {
            mode: h.mode ?? 'balanced',
            handler: h.handler,
            ...(h.durable !== undefined && h.durable !== false && { durable: resolveDurable(h.durable) }),
          }
  }
  return out
}
