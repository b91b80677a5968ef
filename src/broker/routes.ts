import type { ActionPolicy, PolicyOverrides } from '../contract/index.ts'
import { resolvePolicy } from '../contract/index.ts'
import type { ReadonlyRegistry } from '../registry/index.ts'
import type { HostedAction, ServiceHost } from './service-host.ts'

/** What the broker knows about calling one action: resolved once, reused on every call. */
export interface Route {
  readonly idempotent: boolean
  readonly policy: ActionPolicy
  /** Set when this node hosts the action: calls take the local fast path. */
  readonly local: HostedAction | undefined
}

/** A client method's memory of its route, valid for one version of the table. */
export interface RouteCache {
  version: number
  route: Route | undefined
}

/**
 * Caches the policy and locality of each `service.action` so a call does one map
 * lookup instead of merging policy layers. Any registry change (a node joins,
 * leaves, or re-announces, including this one) drops the cache.
 */
export class RouteTable {
  readonly #host: ServiceHost
  readonly #registry: ReadonlyRegistry
  readonly #defaults: PolicyOverrides | undefined
  // Two levels (service, then action) so a lookup builds no key string.
  #routes = new Map<string, Map<string, Route | null>>()
  #version = 0

  constructor(host: ServiceHost, registry: ReadonlyRegistry, defaults: PolicyOverrides | undefined) {
    this.#host = host
    this.#registry = registry
    this.#defaults = defaults
    registry.subscribe(() => {
      this.#routes = new Map()
      this.#version++
    })
  }

  /**
   * Like `get`, but remembers the answer in `cache` (one per client method) and reuses
   * it until the table changes: a call through a held client does no map lookup at all.
   */
  cached(service: string, action: string, cache: RouteCache): Route | undefined {
    if (cache.version === this.#version) return cache.route
    const route = this.get(service, action)
    cache.version = this.#version
    cache.route = route
    return route
  }

  get(service: string, action: string): Route | undefined {
    let byAction = this.#routes.get(service)
    if (!byAction) {
      byAction = new Map()
      this.#routes.set(service, byAction)
    }
    let route = byAction.get(action)
    if (route === undefined) {
      route = this.#resolve(service, action)
      byAction.set(action, route)
    }
    return route ?? undefined
  }

  #resolve(service: string, action: string): Route | null {
    const local = this.#host.lookup(service, action)
    // A hosted service counts as local only once it is announced (started and not draining away).
    const announced = this.#registry.endpoints(service).some((e) => e.local)
    if (local && announced) {
      const def = this.#host.get(service)
      return {
        idempotent: local.definition.idempotent,
        policy: resolvePolicy(this.#defaults, def?.policy, local.definition.policy),
        local,
      }
    }
    const found = this.#registry.action(service, action)
    if (!found) return null
    return {
      idempotent: found.action.idempotent,
      policy: resolvePolicy(this.#defaults, found.service.policy, found.action.policy),
      local: undefined,
    }
  }
}
