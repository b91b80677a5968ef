import { isAbsolute, resolve } from 'node:path'
import { type AutoscaleSpec, autoscaleSpec } from './autoscale-config.ts'
import type { SystemConfig } from './schema.ts'
import { defaultTransportKinds, resolveTransportWith, type TransportKinds } from './transport-kinds.ts'

/** What one process hosts: a single service, or a group of them (monolith mode). */
export interface UnitSpec {
  /** The service name, or the group name for a group. */
  name: string
  services: { name: string; entry: string; export?: string }[]
  instances: number
  env: Record<string, string>
  memoryMb: number | undefined
  /** Config `cpus`: the CPU limit of one instance in cores (the group's, else its members' added up). Absent = none. */
  cpus?: number
  /** Units that must be ready before this one starts. */
  dependsOn: string[]
  /** Service names this unit calls; instances wait to see them before taking traffic. */
  needs: string[]
  /** Folders the unit may write to under the permission model; undefined = no restriction. */
  ownFolders: string[] | undefined
  /** The socket its instances share (the first member's `listen` in a group). */
  listen?: { port: number; host: string }
  /** Config `autoscale` with its defaults (the group's for a group); `instances` starts at its min unless set. */
  autoscale?: AutoscaleSpec
  /** Config `isolation` (the group's for a group; else any member's): how its instances run. Absent = a process. */
  isolation?: 'container'
}

/**
 * Turns a validated config into process units with absolute entries. A grouped
 * service's memory adds up in its group, env merges (later members win), and
 * dependencies on fellow members disappear (they share the process).
 */
export function planUnits(config: SystemConfig, root: string): UnitSpec[] {
  const unitOf = new Map<string, string>()
  for (const [group, spec] of Object.entries(config.groups ?? {}))
    for (const member of spec.services) unitOf.set(member, group)
  for (const name of Object.keys(config.services)) if (!unitOf.has(name)) unitOf.set(name, name)

  const units = new Map<string, UnitSpec>()
  for (const [name, svc] of Object.entries(config.services)) {
    const unitName = unitOf.get(name)!
    const group = config.groups?.[unitName]
    let unit = units.get(unitName)
    if (!unit) {
      const autoscale = (group ?? svc).autoscale
      unit = {
        name: unitName,
        services: [],
        instances: (group ?? svc).instances ?? autoscale?.min ?? 1,
        env: {},
        memoryMb: undefined,
        dependsOn: [],
        needs: [],
        ownFolders: undefined,
        ...(autoscale ? { autoscale: autoscaleSpec(autoscale) } : {}),
      }
      units.set(unitName, unit)
    }
    const entry = isAbsolute(svc.entry) ? svc.entry : resolve(root, svc.entry)
    unit.services.push({ name, entry, ...(svc.export ? { export: svc.export } : {}) })
    Object.assign(unit.env, svc.env)
    if (svc.memoryMb !== undefined) unit.memoryMb = (unit.memoryMb ?? 0) + svc.memoryMb
    if (group?.cpus !== undefined) unit.cpus = group.cpus
    else if (svc.cpus !== undefined) unit.cpus = cpuSum(unit.cpus ?? 0, svc.cpus)
    for (const dep of svc.dependsOn ?? []) {
      const depUnit = unitOf.get(dep)!
      if (depUnit !== unitName && !unit.dependsOn.includes(depUnit)) unit.dependsOn.push(depUnit)
      if (unitOf.get(dep) !== unitName && !unit.needs.includes(dep)) unit.needs.push(dep)
    }
    if (svc.listen && !unit.listen)
      unit.listen = { port: svc.listen.port, host: svc.listen.host ?? '127.0.0.1' }
    if ((group?.isolation ?? svc.isolation) === 'container') unit.isolation = 'container'
    if (svc.permissions === 'own-folder') {
      unit.ownFolders = [...(unit.ownFolders ?? []), resolve(entry, '..')]
    }
  }
  return [...units.values()]
}

/** Cores added up without float noise (0.1 + 0.2 is 0.3, as podman and Kubernetes want it). */
export function cpuSum(a: number, b: number): number {
  return Math.round((a + b) * 1000) / 1000
}

/** Units in start order: each after every unit it depends on (the config is acyclic). */
export function startOrder(units: UnitSpec[]): UnitSpec[][] {
  const levels: UnitSpec[][] = []
  const placed = new Set<string>()
  let rest = units
  while (rest.length > 0) {
    const level = rest.filter((u) =>
      u.dependsOn.every((d) => placed.has(d) || !units.some((x) => x.name === d)),
    )
    if (level.length === 0) throw new Error(`dependency cycle among ${rest.map((u) => u.name).join(', ')}`)
    for (const u of level) placed.add(u.name)
    levels.push(level)
    rest = rest.filter((u) => !placed.has(u.name))
  }
  return levels
}

/**
 * Fills in the defaults instances and the supervisor share: socket dir, NATS namespace.
 * Each kind resolves itself (`TransportKind.resolve`); `kinds` defaults to Tessera's own.
 */
export function resolveTransport(
  config: SystemConfig,
  stateKey: string,
  kinds: TransportKinds = defaultTransportKinds,
): ResolvedTransport {
  return resolveTransportWith(kinds, config, stateKey)
}

export type ResolvedTransport =
  | {
      kind: 'socket'
      dir: string
      /** The event store's socket (durable events, decision 0026), served by the supervisor. */
      events?: string
    }
  | {
      kind: 'nats'
      servers: string[]
      namespace: string
      credentials?: { user: string; pass: string } | { token: string } | { credsFile: string }
    }
