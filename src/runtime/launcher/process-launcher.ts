import { bootstrapProgram, InstanceProcess, LISTEN_FD } from '../instance/instance-process.ts'
import { type CgroupCpu, type CgroupMemory, nodeArgs } from '../isolation/index.ts'
import type { InstanceLauncher } from './instance-launcher.ts'

export interface ProcessLauncherOptions {
  /**
   * cgroup v1 memory limits (`cgroupMemory()`); undefined = a unit's `memoryMb` caps V8's
   * heap instead (`--max-old-space-size`). Never both: the heap limit would abort first
   * and hide which limit applied (decision 0005).
   */
  cgroup?: CgroupMemory | undefined
  /**
   * cgroup v1 CPU quotas (`cgroupCpu()`) for units with `cpus`; undefined = such a unit
   * runs without a CPU limit, and each instance says so on its stderr log.
   */
  cpuCgroup?: CgroupCpu | undefined
}

/**
 * Instances as child processes of the supervisor (today's behaviour): `node <bundle>`
 * (or `node --import tsx bootstrap.ts` without builds), the permission model for
 * `own-folder` units, an IPC channel for readiness, pings, metrics, spans and the
 * credential, the shared socket inherited as fd 4. Memory and CPU limits through cgroups
 * are applied a moment after spawn (the pid is moved in once known); if that fails the
 * instance runs unlimited and says so on its stderr log.
 *
 * @example
 * const launcher = processLauncher({ cgroup: await cgroupMemory(), cpuCgroup: await cgroupCpu() })
 */
export function processLauncher(options: ProcessLauncherOptions = {}): InstanceLauncher {
  const { cgroup, cpuCgroup } = options
  return {
    kind: 'process',
    launch(req) {
      const { unit, build, timing } = req
      const useCgroup = unit.memoryMb !== undefined && cgroup !== undefined
      const inst = new InstanceProcess({
        ...(req.credential ? { credential: req.credential } : {}),
        ...(req.natsLogin ? { natsLogin: req.natsLogin } : {}),
        label: req.label,
        env: {
          ...req.env,
          ...(req.listen ? { listen: { fd: LISTEN_FD, host: req.listen.host, port: req.listen.port } } : {}),
        },
        ...(req.listen ? { listenFd: req.listen.fd } : {}),
        program: build?.file ?? bootstrapProgram,
        nodeArgs: nodeArgs({
          tsx: build === undefined,
          ...(build ? { readDirs: [req.buildDir, ...build.packageDirs] } : {}),
          ...(unit.memoryMb !== undefined && !useCgroup ? { heapMb: unit.memoryMb } : {}),
          ...(unit.ownFolders ? { ownFolders: unit.ownFolders } : {}),
          ...(req.transportDirs.length > 0 ? { transportDirs: req.transportDirs } : {}),
        }),
        cwd: req.root,
        extraEnv: unit.env,
        pingIntervalMs: timing.pingIntervalMs,
        pingTimeoutMs: timing.pingTimeoutMs,
        readyTimeoutMs: timing.readyTimeoutMs,
        stopTimeoutMs: timing.drainTimeoutMs + timing.drainGraceMs + 3000,
        onLine: (_label, line, stream) => req.onLine(line, stream),
        ...(req.onSpans ? { onSpans: req.onSpans } : {}),
        ...(req.onContract ? { onContract: req.onContract } : {}),
      })
      if (useCgroup && inst.pid !== undefined) {
        cgroup.limit(inst.pid, req.nodeId, unit.memoryMb!).then(
          (release) => inst.exited.then(release),
          (err: Error) => req.onLine(`supervisor: cgroup limit failed: ${err.message}`, 'stderr'),
        )
      }
      if (unit.cpus !== undefined && inst.pid !== undefined) {
        if (!cpuCgroup)
          req.onLine(
            `supervisor: cpus ${unit.cpus} not applied: the cgroup cpu controller (/sys/fs/cgroup/cpu) is not writable here`,
            'stderr',
          )
        else
          cpuCgroup.limit(inst.pid, req.nodeId, unit.cpus).then(
            (release) => inst.exited.then(release),
            (err: Error) => req.onLine(`supervisor: cgroup cpu limit failed: ${err.message}`, 'stderr'),
          )
      }
      return inst
    },
  }
}
