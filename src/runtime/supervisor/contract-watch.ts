import {
  type ContractDiff,
  diffContracts,
  formatContractDiff,
  type ServiceContract,
} from '../../contract/index.ts'
import type { ReadonlyRegistry } from '../../registry/index.ts'
import type { NodeInfo, ServiceInfo } from '../../transport/index.ts'
import type { SystemStatus } from './supervisor.ts'

/** An instance that joined with a contract breaking the running version's, as reported once. */
export interface ContractMismatch {
  /** The unit of this system that runs the service. */
  unit: string
  service: string
  /** The joining node, and the version it announced. */
  node: string
  version: string
  /** The version (of this runtime's instances) it was compared with. */
  runningVersion: string
  /** Started by this runtime (a restart or scale that built newer code, a forced deploy) or not. */
  own: boolean
  /** The breaking changes (and compatible ones) of the joiner against the running version. */
  diff: ContractDiff
  /** One line per breaking change, as `tessera diff` prints it. */
  text: string
  /** ms since epoch when it was seen. */
  at: number
}

export interface ContractWatchOptions {
  registry: ReadonlyRegistry
  /** This runtime's units and instances, now (what `supervisor.status()` answers). */
  status: () => SystemStatus
  onMismatch: (mismatch: ContractMismatch) => void
  now?: () => number
  /** How many mismatches `recent()` keeps, newest last. Default 100. */
  keep?: number
}

export interface ContractWatch {
  /** The mismatches seen, oldest first (bounded by `keep`). */
  recent(): ContractMismatch[]
  stop(): void
}

/**
 * Compares every instance that joins (or re-announces) a service of this system with the
 * contract this runtime's own instances of that service announce, and reports a breaking
 * difference once per node, service and version (decision 0027). `tessera deploy` checks
 * a new build before it starts; this catches what joins without one: an instance started
 * by hand or by another host's agent, a foreign node, or this runtime's own instance of
 * newer code (a restart rebuilds from disk). Only actions are compared: a node announces
 * its actions' input and output schemas but not the payloads of the events it emits.
 * A service with no instance of this runtime's in the registry has nothing to compare
 * with and is not judged. It reports and refuses nothing itself: the caller decides.
 *
 * @example
 * const watch = watchContracts({ registry: sup.caller.registry, status: () => sup.status(), onMismatch: log })
 */
export function watchContracts(options: ContractWatchOptions): ContractWatch {
  const now = options.now ?? Date.now
  const keep = options.keep ?? 100
  const seen = new Set<string>()
  const recent: ContractMismatch[] = []

  const check = (joiner: NodeInfo): void => {
    const status = options.status()
    const own = new Set(status.units.flatMap((u) => u.instances.flatMap((i) => (i.nodeId ? [i.nodeId] : []))))
    for (const service of joiner.services) {
      const unit = status.units.find((u) => u.services.includes(service.name))
      if (!unit) continue
      const onceKey = `${joiner.nodeId}\n${service.name}\n${service.version}`
      if (seen.has(onceKey)) continue
      // The running contract: what this runtime's other instances of the service announce.
      const references = distinct(
        [...own]
          .filter((id) => id !== joiner.nodeId)
          .flatMap((id) => options.registry.node(id)?.services.filter((s) => s.name === service.name) ?? []),
      )
      if (references.length === 0) continue
      seen.add(onceKey)
      const next = contractOfInfo(service)
      for (const reference of references) {
        const diff = diffContracts(contractOfInfo(reference), next)
        if (diff.breaking.length === 0) continue
        const mismatch: ContractMismatch = {
          unit: unit.name,
          service: service.name,
          node: joiner.nodeId,
          version: service.version,
          runningVersion: reference.version,
          own: own.has(joiner.nodeId),
          diff,
          text: formatContractDiff(diff),
          at: now(),
        }
        recent.push(mismatch)
        if (recent.length > keep) recent.shift()
        options.onMismatch(mismatch)
        break
      }
    }
  }

  for (const node of options.registry.nodes()) check(node)
  const unsubscribe = options.registry.subscribe((change) => {
    if (change.type === 'joined' || change.type === 'updated') check(change.node)
    // A node that left may come back with the same id and version: judged again then.
    else for (const key of [...seen]) if (key.startsWith(`${change.node.nodeId}\n`)) seen.delete(key)
  })
  return { recent: () => [...recent], stop: unsubscribe }
}

/** The comparable part of an announced service: its actions' schemas (events are not announced). */
export function contractOfInfo(info: ServiceInfo): ServiceContract {
  const actions: ServiceContract['actions'] = {}
  for (const [name, a] of Object.entries(info.actions)) actions[name] = { input: a.input, output: a.output }
  return { name: info.name, version: info.version, actions, events: {} }
}

/** One of each distinct contract (by version and action schemas). */
function distinct(infos: ServiceInfo[]): ServiceInfo[] {
  const byShape = new Map<string, ServiceInfo>()
  for (const info of infos) byShape.set(JSON.stringify(contractOfInfo(info)), info)
  return [...byShape.values()]
}
