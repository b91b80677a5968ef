import type { ActionInfo } from '../../wire/index.ts'
import type { Supervisor } from '../supervisor/index.ts'

export interface CatalogService {
  name: string
  /** The unit whose instances host it (itself, or its group). */
  unit: string | undefined
  versions: string[]
  /** Services it calls, as the config says (`dependsOn`). */
  dependsOn: string[]
  actions: Record<string, ActionInfo>
  /** Event name → `balanced` or `broadcast`. */
  subscriptions: Record<string, string>
}

export interface Catalog {
  system: string
  services: CatalogService[]
  /** Units hosting only adapters (a gateway), with what they call. */
  adapters: { name: string; dependsOn: string[] }[]
  /** Node id → the host it announced it runs on (NodeInfo.meta.host), where it did. */
  hosts: Record<string, string>
}

/**
 * What the system offers, for the dashboard: every service the supervisor's caller sees
 * announced (actions with their JSON Schemas, subscriptions, versions) joined with the
 * config's `dependsOn`. A configured service no instance announces yet is listed with no
 * actions rather than left out.
 */
export function buildCatalog(sup: Supervisor): Catalog {
  const status = sup.status()
  const unitOf = new Map<string, string>()
  for (const u of status.units) for (const s of [...u.services, ...u.adapters]) unitOf.set(s, u.name)
  const configured = sup.config.services
  const byName = new Map<string, CatalogService>()
  const entry = (name: string): CatalogService => {
    let s = byName.get(name)
    if (!s) {
      s = {
        name,
        unit: unitOf.get(name) ?? (configured[name] ? name : undefined),
        versions: [],
        dependsOn: [...(configured[name]?.dependsOn ?? [])],
        actions: {},
        subscriptions: {},
      }
      byName.set(name, s)
    }
    return s
  }
  const hosts: Record<string, string> = {}
  // A service a unit's code adds at run time (the gateway's event subscriber) is in no
  // config: its unit is the one of the instance announcing it.
  const unitOfNode = new Map<string, string>()
  for (const u of status.units) for (const i of u.instances) if (i.nodeId) unitOfNode.set(i.nodeId, u.name)
  for (const node of sup.caller.registry.nodes()) {
    if (node.meta?.host !== undefined) hosts[node.nodeId] = String(node.meta.host)
    for (const info of node.services) {
      const s = entry(info.name)
      s.unit ??= unitOfNode.get(node.nodeId)
      if (!s.versions.includes(info.version)) s.versions.push(info.version)
      Object.assign(s.actions, info.actions)
      Object.assign(s.subscriptions, info.subscriptions)
    }
  }
  const adapterUnits = new Set(status.units.filter((u) => u.services.length === 0).map((u) => u.name))
  for (const name of Object.keys(configured)) if (!adapterUnits.has(name)) entry(name)
  return {
    system: status.system,
    services: [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)),
    adapters: [...adapterUnits].map((name) => ({
      name,
      dependsOn: [...(configured[name]?.dependsOn ?? [])],
    })),
    hosts,
  }
}
