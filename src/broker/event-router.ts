import { TesseraError } from '../errors/index.ts'
import type { Endpoint } from '../middleware/index.ts'
import type { ReadonlyRegistry } from '../registry/index.ts'

/**
 * Decides which nodes receive one event: for each subscribing service, one of its
 * instances (balanced; the local one when there is one, else round-robin) or all of
 * them (broadcast). Returns node id → the services that must handle it there.
 */
export class EventRouter {
  readonly #registry: ReadonlyRegistry
  readonly #cursor = new Map<string, number>()

  constructor(registry: ReadonlyRegistry) {
    this.#registry = registry
  }

  route(event: string): Map<string, string[]> {
    const targets = new Map<string, string[]>()
    const add = (e: Endpoint, service: string) => {
      const list = targets.get(e.nodeId)
      if (list) list.push(service)
      else targets.set(e.nodeId, [service])
    }
    for (const group of this.#registry.eventGroups(event)) {
      if (group.mode === 'broadcast') {
        for (const e of group.endpoints) add(e, group.service)
        continue
      }
      const local = group.endpoints.find((e) => e.local)
      if (local) {
        add(local, group.service)
        continue
      }
      const key = `${event}\u0000${group.service}`
      const n = this.#cursor.get(key) ?? 0
      this.#cursor.set(key, n + 1)
      const chosen = group.endpoints[n % group.endpoints.length]
      if (chosen) add(chosen, group.service)
    }
    return targets
  }
}

export function undeclaredEvent(service: string, event: string): TesseraError {
  return new TesseraError('BAD_REQUEST', `service ${service} does not declare the event ${event}`, {
    service,
    event,
  })
}
