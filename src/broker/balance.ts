import { markCallFailure, TesseraError } from '../errors/index.ts'
import type { Call, Endpoint, Middleware, Next } from '../middleware/index.ts'
import type { Balancer, ReadonlyRegistry } from '../registry/index.ts'

/**
 * Waits for the registry to know an instance of `call.service`; resolves whether one
 * appeared. The broker bounds it by its `waitForInstanceMs` and the call's deadline.
 */
export type WaitForInstance = (call: Call) => Promise<boolean>

/**
 * The step that picks the instance for one attempt among the service's known endpoints
 * (the balancer skips open circuits and instances already tried, see `pickBalancer`).
 * With no endpoint at all the attempt first waits a little (`waitForInstance`): every
 * instance can be gone from the registry for a moment, e.g. all of a service's instances
 * reconnecting after their NATS server died, and the call has not left, so waiting is
 * safe for any action. Still none: UNAVAILABLE, marked undelivered so a retry may find an
 * instance that joined meanwhile. Rejects rather than throws: a step before it may not be
 * async.
 */
export function balance(
  registry: ReadonlyRegistry,
  balancer: Balancer,
  waitForInstance?: WaitForInstance,
): Middleware {
  const unavailable = (call: Call) =>
    markCallFailure(
      new TesseraError('UNAVAILABLE', `no instance of ${call.service} is available`, {
        service: call.service,
        action: call.action,
        delivered: false,
      }),
    )
  const choose = (call: Call, all: readonly Endpoint[], next: Next): Promise<unknown> => {
    const endpoint = balancer(all, call) ?? all[0]!
    call.tried.push(endpoint.nodeId)
    call.endpoint = endpoint
    return next(call)
  }
  const pick: Middleware = (call, next) => {
    const all = registry.endpoints(call.service)
    if (all.length === 0) return Promise.reject(unavailable(call))
    return choose(call, all, next)
  }
  if (!waitForInstance) return pick
  return (call, next) => {
    // The endpoints are looked up once on the usual path (some are known), not again in `pick`.
    const all = registry.endpoints(call.service)
    if (all.length > 0) return choose(call, all, next)
    return waitForInstance(call).then((found) =>
      found ? pick(call, next) : Promise.reject(unavailable(call)),
    )
  }
}
