import type { Broker } from '../broker/index.ts'
import type { Instrumentation, Logger } from '../observability/index.ts'

const ADAPTER = Symbol.for('tessera.adapter')

/** What the runtime hands an adapter when its instance starts it. */
export interface AdapterContext {
  /**
   * The unit's shared listening socket (config `listen`), already bound by the supervisor
   * and shared by every instance of the unit: listen on it with `server.listen({ fd })`.
   * Undefined when the unit has no `listen`.
   */
  listen: { fd: number; host: string; port: number } | undefined
  /** How long draining may take in total, and the grace for clients already on their way. */
  drain: { timeoutMs: number; graceMs: number }
  logger: Logger
  /**
   * What the instance's broker reports to (metrics, traces): hand it to what the adapter
   * serves with, e.g. `createGateway({ instrumentation })`, so its requests are measured too.
   */
  instrumentation: Instrumentation | undefined
}

/** A started adapter: `close` stops taking new work and finishes what is in flight. */
export interface RunningAdapter {
  close(): Promise<void>
}

/**
 * A unit entry that is not a service: something that takes work from outside (HTTP, a
 * queue) and calls services through the instance's broker. The runtime starts it once
 * the instance's own services are hosted and those it `needs` are visible, then says
 * ready; on stop it closes adapters first (no new work, in-flight finished), then the broker.
 */
export interface AdapterDefinition {
  readonly [ADAPTER]: true
  /** Must be the unit's name in the config. */
  readonly name: string
  start(broker: Broker, context: AdapterContext): Promise<RunningAdapter>
}

/**
 * Declares an adapter: the default export of a unit entry, in place of a service.
 *
 * @example
 * // gateway/entry.ts, config: gateway: { entry: './gateway/entry.ts', listen: { port: 8080 } }
 * export default defineAdapter({
 *   name: 'gateway',
 *   async start(broker, { listen }) {
 *     const gateway = await createGateway({ broker, listen })
 *     return { close: () => gateway.drain() }
 *   },
 * })
 */
export function defineAdapter(spec: {
  name: string
  start(broker: Broker, context: AdapterContext): Promise<RunningAdapter>
}): AdapterDefinition {
  return { [ADAPTER]: true, name: spec.name, start: spec.start }
}

/** True for what `defineAdapter` returned (also across bundles: the tag is a global symbol). */
export function isAdapter(value: unknown): value is AdapterDefinition {
  return typeof value === 'object' && value !== null && (value as AdapterDefinition)[ADAPTER] === true
}
