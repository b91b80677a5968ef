import { cgroupV1 } from './cgroup-v1.ts'

/** Per-process memory limits through the cgroup v1 memory controller. */
export interface CgroupMemory {
  /** Moves `pid` into its own cgroup limited to `limitMb` MiB; resolves with a release function. */
  limit(pid: number, name: string, limitMb: number): Promise<() => Promise<void>>
}

/**
 * Resolves with a limiter when `<root>/tessera` can be created (root, cgroup v1), else
 * undefined: the caller then falls back to V8's heap limit. Past the limit the kernel's
 * OOM killer ends the process with SIGKILL, which the supervisor treats as a crash.
 */
export async function cgroupMemory(root = '/sys/fs/cgroup/memory'): Promise<CgroupMemory | undefined> {
  const cgroups = await cgroupV1(root)
  if (!cgroups) return undefined
  return {
    limit(pid, name, limitMb) {
      const bytes = String(limitMb * 1024 * 1024)
      return cgroups.place(pid, name, [
        { file: 'memory.limit_in_bytes', value: bytes },
        // Without swap accounting this file is absent; the plain limit still applies.
        { file: 'memory.memsw.limit_in_bytes', value: bytes, optional: true },
      ])
    },
  }
}
