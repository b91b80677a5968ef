import { createHash } from 'node:crypto'
import type { PlacementConfig, SystemConfig } from '../config/index.ts'

/** A live host as its agent announces it. */
export interface HostInfo {
  name: string
  labels: Record<string, string>
}

/** Who holds one instance slot of a unit (slots count from 1). */
export interface SlotOwner {
  unit: string
  slot: number
  host: string
}

/**
 * The placement of a unit: its own (a service's, or a group's), else that of the group's
 * first member that has one. Undefined: anywhere.
 */
export function placementOf(config: SystemConfig, unit: string): PlacementConfig | undefined {
  const group = config.groups?.[unit]
  if (group) {
    if (group.placement) return group.placement
    for (const member of group.services) {
      const p = config.services[member]?.placement
      if (p) return p
    }
    return undefined
  }
  return config.services[unit]?.placement
}

/** Whether `host` may run a unit placed by `placement`: named (if names are given) and every label matching. */
export function mayRun(placement: PlacementConfig | undefined, host: HostInfo): boolean {
  if (!placement) return true
  if (placement.hosts && !placement.hosts.includes(host.name)) return false
  for (const [k, v] of Object.entries(placement.labels ?? {})) if (host.labels[k] !== v) return false
  return true
}

/**
 * Who should claim each free slot, as every agent computes it from the same view (the
 * live hosts and the slots already held). The rule, slot by slot in ascending order: among
 * the live hosts the placement allows, the one holding the fewest slots of this unit, then
 * the fewest slots of any unit, then the highest rendezvous hash of `unit#slot@host` (so
 * ties break the same way everywhere, and differently per slot). Each pick counts as held
 * for the next. A slot no live host may run is left out. Agents with a different view
 * (a host just joined) may disagree; the lease's compare-and-set makes one of them win.
 *
 * @example
 * assignFree({ unit: 'users', free: [1, 2], placement: undefined, hosts, held: [] })
 * // → Map { 1 → 'a', 2 → 'b' } with hosts a and b
 */
export function assignFree(o: {
  unit: string
  free: number[]
  placement: PlacementConfig | undefined
  hosts: HostInfo[]
  held: SlotOwner[]
}): Map<number, string> {
  const eligible = o.hosts.filter((h) => mayRun(o.placement, h))
  const ofUnit = new Map<string, number>()
  const total = new Map<string, number>()
  for (const h of o.held) {
    total.set(h.host, (total.get(h.host) ?? 0) + 1)
    if (h.unit === o.unit) ofUnit.set(h.host, (ofUnit.get(h.host) ?? 0) + 1)
  }
  const picks = new Map<number, string>()
  for (const slot of [...o.free].sort((a, b) => a - b)) {
    let best: { host: string; key: [number, number, string] } | undefined
    for (const h of eligible) {
      const key: [number, number, string] = [
        ofUnit.get(h.name) ?? 0,
        total.get(h.name) ?? 0,
        rendezvous(`${o.unit}#${slot}@${h.name}`),
      ]
      if (!best || better(key, best.key)) best = { host: h.name, key }
    }
    if (!best) continue
    picks.set(slot, best.host)
    ofUnit.set(best.host, (ofUnit.get(best.host) ?? 0) + 1)
    total.set(best.host, (total.get(best.host) ?? 0) + 1)
  }
  return picks
}

function better(a: [number, number, string], b: [number, number, string]): boolean {
  if (a[0] !== b[0]) return a[0] < b[0]
  if (a[1] !== b[1]) return a[1] < b[1]
  return a[2] > b[2]
}

function rendezvous(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}
