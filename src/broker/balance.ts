import { TesseraError } from '../errors/index.ts'
import type { Middleware } from '../middleware/index.ts'
import type { Balancer, ReadonlyRegistry } from '../registry/index.ts'

/**
 * The step that picks the instance for one attempt among the service's known endpoints
 * (the balancer skips open circuits and instances already tried, see `pickBalancer`).
 * No endpoint at all is UNAVAILABLE, marked undelivered so a retry may find an instance
 * that joined meanwhile. Rejects rather than throws: a step before it may not be async.
 */
export function balance(registry: ReadonlyRegistry, balancer: Balancer): Middleware {
  return (call, next) => {
    const all = registry.endpoints(call.service)
    if (all.length === 0) {
      return Promise.reject(
        new TesseraError('UNAVAILABLE', `no instance of ${call.service} is available`, {
          service: call.service,
          action: call.action,
          delivered: false,
        }),
      )
    }
    const endpoint = balancer(all, call) ?? all[0]!
    call.tried.push(endpoint.nodeId)
    call.endpoint = endpoint
    return next(call)
  }
}
