import type { EventMode } from '../contract/index.ts'
import type { Endpoint } from '../middleware/index.ts'
import type { ActionInfo, NodeInfo, ServiceInfo } from '../wire/index.ts'

/** A subscribing service and the nodes where it runs, for one event name. */
export interface EventGroup {
  service: string
  mode: EventMode
  endpoints: Endpoint[]
}

/** Something changed: `joined`/`updated` carry the node's new info, `left` its last known. */
export type RegistryChange =
  | { type: 'joined'; node: NodeInfo }
  | { type: 'updated'; node: NodeInfo }
  | { type: 'left'; node: NodeInfo; reason: string }

/**
 * The queries of a {@link Registry}, without the means to change it: what a broker
 * hands out (`broker.registry`) to gateways, supervisors and tests. Only the broker
 * that owns the registry feeds it (its own node, and peers as its transport reports them).
 */
export interface ReadonlyRegistry {
  readonly localNodeId: string
  has(nodeId: string): boolean
  /** What `nodeId` last announced (with its verified identity, on a system with credentials). */
  node(nodeId: string): NodeInfo | undefined
  /** A snapshot of the known nodes. */
  nodes(): NodeInfo[]
  /** Instances that offer `service`, local first. Empty when none is known. */
  endpoints(service: string): readonly Endpoint[]
  /** What the owner of `service` announced about `action`, if any node offers it. */
  action(service: string, action: string): { service: ServiceInfo; action: ActionInfo } | undefined
  /** Subscribing services of `event`, each with the nodes it runs on. */
  eventGroups(event: string): readonly EventGroup[]
  /** Listens to joins, updates and leaves; returns the function that stops listening. */
  subscribe(listener: (change: RegistryChange) => void): () => void
}

/**
 * A view of `registry` that only answers queries: no cast reaches `upsert` or `remove`.
 *
 * @example
 * const broker = { registry: readonlyView(registry) }
 */
export function readonlyView(registry: Registry): ReadonlyRegistry {
  return Object.freeze({
    get localNodeId() {
      return registry.localNodeId
    },
    has: (nodeId: string) => registry.has(nodeId),
    node: (nodeId: string) => registry.node(nodeId),
    nodes: () => registry.nodes(),
    endpoints: (service: string) => registry.endpoints(service),
    action: (service: string, action: string) => registry.action(service, action),
    eventGroups: (event: string) => registry.eventGroups(event),
    subscribe: (listener: (change: RegistryChange) => void) => registry.subscribe(listener),
  })
}

/**
 * Which nodes exist and what each offers. Fed by the transport (peer announcements)
 * and by the local broker (its own node); read on every call, so lookups are cached
 * and the caches are dropped on any change (changes are rare, lookups constant).
 */
export class Registry implements ReadonlyRegistry {
  readonly #localNodeId: string
  readonly #nodes = new Map<string, NodeInfo>()
  readonly #listeners = new Set<(change: RegistryChange) => void>()
  #endpointCache = new Map<string, Endpoint[]>()
  #groupCache = new Map<string, EventGroup[]>()
  #actionCache = new Map<string, { service: ServiceInfo; action: ActionInfo } | null>()

  constructor(localNodeId: string) {
    this.#localNodeId = localNodeId
  }

  get localNodeId(): string {
    return this.#localNodeId
  }

  /** Adds or replaces a node; ignores announcements older than the one held. */
  upsert(info: NodeInfo): void {
    const known = this.#nodes.get(info.nodeId)
    if (known && known.seq > info.seq) return
    this.#nodes.set(info.nodeId, info)
    this.#invalidate()
    this.#notify(known ? { type: 'updated', node: info } : { type: 'joined', node: info })
  }

  remove(nodeId: string, reason: string): void {
    const known = this.#nodes.get(nodeId)
    if (!known) return
    this.#nodes.delete(nodeId)
    this.#invalidate()
    this.#notify({ type: 'left', node: known, reason })
  }

  has(nodeId: string): boolean {
    return this.#nodes.has(nodeId)
  }

  node(nodeId: string): NodeInfo | undefined {
    return this.#nodes.get(nodeId)
  }

  nodes(): NodeInfo[] {
    return [...this.#nodes.values()]
  }

  /** Instances that offer `service`, local first. Empty when none is known. */
  endpoints(service: string): readonly Endpoint[] {
    let list = this.#endpointCache.get(service)
    if (!list) {
      list = []
      for (const node of this.#nodes.values()) {
        if (node.services.some((s) => s.name === service)) {
          list.push({ nodeId: node.nodeId, local: node.nodeId === this.#localNodeId })
        }
      }
      list.sort((a, b) => Number(b.local) - Number(a.local))
      this.#endpointCache.set(service, list)
    }
    return list
  }

  /**
   * What the owner of `service` announced about `action` (from any of its nodes:
   * instances of one version agree; during a rollout the newest announcement wins).
   */
  action(service: string, action: string): { service: ServiceInfo; action: ActionInfo } | undefined {
    const key = `${service}.${action}`
    let found = this.#actionCache.get(key)
    if (found === undefined) {
      found = null
      for (const node of this.#nodes.values()) {
        const s = node.services.find((x) => x.name === service)
        const a = s && Object.hasOwn(s.actions, action) ? s.actions[action] : undefined
        if (s && a) found = { service: s, action: a }
      }
      this.#actionCache.set(key, found)
    }
    return found ?? undefined
  }

  /** Subscribing services of `event`, each with the nodes it runs on. */
  eventGroups(event: string): readonly EventGroup[] {
    let groups = this.#groupCache.get(event)
    if (!groups) {
      const byService = new Map<string, EventGroup>()
      for (const node of this.#nodes.values()) {
        for (const s of node.services) {
          const mode = Object.hasOwn(s.subscriptions, event) ? s.subscriptions[event] : undefined
          if (!mode) continue
          let group = byService.get(s.name)
          if (!group) {
            group = { service: s.name, mode, endpoints: [] }
            byService.set(s.name, group)
          }
          group.endpoints.push({ nodeId: node.nodeId, local: node.nodeId === this.#localNodeId })
        }
      }
      groups = [...byService.values()]
      this.#groupCache.set(event, groups)
    }
    return groups
  }

  /** Listens to joins, updates and leaves; returns the function that stops listening. */
  subscribe(listener: (change: RegistryChange) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #invalidate(): void {
    this.#endpointCache = new Map()
    this.#groupCache = new Map()
    this.#actionCache = new Map()
  }

  #notify(change: RegistryChange): void {
    for (const listener of this.#listeners) listener(change)
  }
}
