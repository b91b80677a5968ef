import type { LaunchedInstance } from '../launcher/index.ts'

export interface InstanceStatus {
  label: string
  nodeId: string | undefined
  state: 'starting' | 'ready' | 'draining' | 'exited' | 'restarting' | 'crash-loop'
  pid: number | undefined
  versions: { name: string; version: string }[]
  uptimeMs: number | undefined
  handled: number
  reqPerSec: number
}

/**
 * What status shows for one slot. An instance counts as `ready` only once callers see it
 * (`serving`); before that a ready instance is still `starting`. An empty or exited slot
 * is `crash-loop` when its unit is, `restarting` while a restart waits, else `exited`.
 */
export function instanceStatus(
  label: string,
  inst: LaunchedInstance | undefined,
  o: { crashLoop: boolean; restarting: boolean; serving: boolean; now: number },
): InstanceStatus {
  const base = { label, handled: inst?.handled ?? 0, reqPerSec: inst?.reqPerSec ?? 0 }
  if (!inst || inst.state.type === 'exited') {
    const state = o.crashLoop ? 'crash-loop' : o.restarting ? 'restarting' : 'exited'
    return { ...base, nodeId: inst?.nodeId, state, pid: undefined, versions: [], uptimeMs: undefined }
  }
  return {
    ...base,
    nodeId: inst.nodeId,
    state: o.serving ? 'ready' : inst.state.type === 'ready' ? 'starting' : inst.state.type,
    pid: inst.pid,
    versions: inst.versions,
    // The clock may read a cached time a moment older than the launch.
    uptimeMs: Math.max(0, o.now - inst.startedAt),
  }
}
