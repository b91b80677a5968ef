import { TesseraError } from '../errors/index.ts'
import type { Endpoint, Middleware } from '../middleware/index.ts'
import type { Balancer, Registry } from '../registry/index.ts'

/**
 * The step that picks the instance for one attempt: the service's known endpoints,
 * minus those whose circuit is open, chosen by the balancer. No endpoint at all is
 * UNAVAILABLE; endpoints that all have open circuits is CIRCUIT_OPEN. Both are
 * retryable, so a retry may find an instance that joined meanwhile.
 */
export function balance(
  registry: Registry,
  balancer: Balancer,
  isAvailable: (service: string, nodeId: string) => boolean,
): Middleware {
  return (call, next) => {
    const all = registry.endpoints(call.service)
    if (all.length === 0) {
      throw new TesseraError('UNAVAILABLE', `no instance of ${call.service} is available`, {
        service: call.service,
        action: call.action,
        delivered: false,
      })
    }
    let candidates: readonly Endpoint[] = all
    for (const e of all) {
      if (!isAvailable(call.service, e.nodeId)) {
        candidates = all.filter((x) => isAvailable(call.service, x.nodeId))
        break
      }
    }
    if (candidates.length === 0) {
      throw new TesseraError('CIRCUIT_OPEN', `every instance of ${call.service} has an open circuit`, {
        service: call.service,
      })
    }
    const endpoint = balancer(candidates, call) ?? candidates[0]!
    call.tried.push(endpoint.nodeId)
    call.endpoint = endpoint
    return next(call)
  }
}
