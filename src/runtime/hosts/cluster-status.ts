import type { SystemStatus, UnitStatus } from '../supervisor/index.ts'
import type { HostedUnit, HostRecord } from './hosts-kv.ts'

/** `tessera status` of a system over many hosts: every unit's instances on every live host. */
export interface ClusterStatus extends SystemStatus {
  /** The live hosts, as their agents last announced themselves. */
  hosts: { name: string; labels: Record<string, string>; pid: number; startedAt: number }[]
}

/**
 * What one host announces of its supervisor's status (hosts-kv.ts `HostRecord.units`), with
 * each instance's handler runs in flight (`inFlightOf` its node id) for the autoscaler.
 */
export function hostedUnits(
  status: SystemStatus,
  inFlightOf: (nodeId: string) => number = () => 0,
): HostedUnit[] {
  return status.units.map((u) => ({
    name: u.name,
    state: u.state,
    restarts: u.restarts,
    instances: u.instances.map((i) => ({
      label: i.label,
      state: i.state,
      pid: i.pid ?? null,
      nodeId: i.nodeId ?? null,
      reqPerSec: i.reqPerSec,
      inFlight: i.nodeId ? inFlightOf(i.nodeId) : 0,
    })),
  }))
}

/**
 * Merges this host's own status (fresh) with what the other live hosts last announced
 * (at most one renewal old). An instance's label gets its host (`users#1@b`): slots are
 * numbered per host. A unit's state is `running` when any host runs it so, restarts add up.
 */
export function clusterStatus(local: SystemStatus, me: HostRecord, others: HostRecord[]): ClusterStatus {
  const units: UnitStatus[] = local.units.map((u) => ({
    ...u,
    instances: u.instances.map((i) => ({ ...i, label: `${i.label}@${me.name}` })),
  }))
  for (const host of others) {
    for (const remote of host.units) {
      const unit = units.find((u) => u.name === remote.name)
      if (!unit) continue
      unit.restarts += remote.restarts
      if (remote.instances.length > 0 && remote.state === 'running') unit.state = 'running'
      for (const i of remote.instances) {
        unit.instances.push({
          label: `${i.label}@${host.name}`,
          nodeId: i.nodeId ?? undefined,
          state: i.state as UnitStatus['instances'][number]['state'],
          pid: i.pid ?? undefined,
          versions: [],
          uptimeMs: undefined,
          handled: 0,
          reqPerSec: i.reqPerSec,
          rssBytes: undefined,
          cpuPercent: undefined,
        })
      }
    }
  }
  const hosts = [me, ...others]
    .map((h) => ({ name: h.name, labels: h.labels, pid: h.pid, startedAt: h.startedAt }))
    .sort((a, b) => a.name.localeCompare(b.name))
  return { ...local, units, hosts }
}

/** Ready instances of `unit` over all hosts in a cluster status. */
export function readyCount(status: SystemStatus, unit: string): number {
  return status.units.find((u) => u.name === unit)?.instances.filter((i) => i.state === 'ready').length ?? 0
}
