import type { Principal } from '../context/index.ts'
import type { RouteRateLimit } from '../contract/index.ts'
import { TesseraError } from '../errors/index.ts'
import { FixedWindows } from './rate-limit.ts'

/** What of a route its limit needs: who owns it, how callers are told apart, the limit. */
export interface LimitedRoute {
  service: string
  action: string
  auth: 'public' | 'authenticated'
  rateLimit?: RouteRateLimit | undefined
}

export interface RouteRateLimits {
  /**
   * Counts one request against the route's own limit, if it declares one; throws
   * RATE_LIMITED (`data.retryAfterSec`, so a `Retry-After` header) past it. Public routes
   * count per client IP, authenticated ones per principal.
   */
  take(route: LimitedRoute, client: { ip: string; principal: Principal | undefined }): void
}

/**
 * The limits routes declare in their `http.rateLimit`, one set of fixed windows per
 * action, in this gateway's memory (with several gateways, each counts on its own). A
 * route re-announced with another limit starts counting afresh under it.
 *
 * @example
 * const limits = createRouteRateLimits()
 * limits.take(route, { ip: req.ip, principal }) // throws RATE_LIMITED past route.rateLimit.max
 */
export function createRouteRateLimits(now: () => number = Date.now): RouteRateLimits {
  const byAction = new Map<string, { spec: string; windows: FixedWindows }>()
  return {
    take(route, client) {
      const limit = route.rateLimit
      if (!limit) return
      const id = `${route.service}.${route.action}`
      const spec = `${limit.max}/${limit.windowMs}`
      let entry = byAction.get(id)
      if (entry?.spec !== spec) {
        entry = { spec, windows: new FixedWindows(limit.max, limit.windowMs, now) }
        byAction.set(id, entry)
      }
      // A public route has no principal to count; an authenticated one always has.
      const key =
        route.auth === 'public' || !client.principal ? `ip:${client.ip}` : `p:${client.principal.id}`
      const retryAfterSec = entry.windows.hit(key)
      if (retryAfterSec !== undefined) {
        throw new TesseraError('RATE_LIMITED', `too many requests to ${id}`, { retryAfterSec })
      }
    },
  }
}
