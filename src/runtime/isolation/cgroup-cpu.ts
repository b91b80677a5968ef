import { cgroupV1 } from './cgroup-v1.ts'

/** Per-process CPU limits through the cgroup v1 cpu controller (CFS bandwidth). */
export interface CgroupCpu {
  /**
   * Moves `pid` into its own cgroup that may use `cpus` cores (0.5 = 50 ms of CPU time in
   * every 100 ms period, 2 = 200 ms across cores); resolves with a release function.
   * Rejects when the cgroup cannot be made or written (the caller says so in the log).
   */
  limit(pid: number, name: string, cpus: number): Promise<() => Promise<void>>
}

/** The CFS period podman and the kubelet use: 100 ms. */
export const CFS_PERIOD_US = 100_000

/** The quota of `cpus` cores in one period (what podman's `--cpus` writes). */
export function cfsQuotaUs(cpus: number): number {
  return Math.round(cpus * CFS_PERIOD_US)
}

/**
 * Resolves with a limiter when `<root>/tessera` can be created (root, cgroup v1 with the
 * cpu controller), else undefined: the caller then runs the process without a CPU limit
 * (there is no fallback as for memory; the process is throttled, never killed, past it).
 *
 * @example
 * const cpu = await cgroupCpu()
 * const release = await cpu?.limit(child.pid, 'users-1', 0.5)
 */
export async function cgroupCpu(root = '/sys/fs/cgroup/cpu'): Promise<CgroupCpu | undefined> {
  const cgroups = await cgroupV1(root)
  if (!cgroups) return undefined
  return {
    limit: (pid, name, cpus) =>
      cgroups.place(pid, name, [
        { file: 'cpu.cfs_period_us', value: String(CFS_PERIOD_US) },
        { file: 'cpu.cfs_quota_us', value: String(cfsQuotaUs(cpus)) },
      ]),
  }
}
