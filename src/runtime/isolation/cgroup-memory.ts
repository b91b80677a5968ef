import { mkdir, rmdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

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
  const base = join(root, 'tessera')
  try {
    await mkdir(base, { recursive: true })
    await writeFile(join(base, 'cgroup.procs'), '').catch(() => {})
  } catch {
    return undefined
  }
  return {
    async limit(pid, name, limitMb) {
      const dir = join(base, name)
      await mkdir(dir, { recursive: true })
      const bytes = String(limitMb * 1024 * 1024)
      await writeFile(join(dir, 'memory.limit_in_bytes'), bytes)
      // Without swap accounting this file is absent; the plain limit still applies.
      await writeFile(join(dir, 'memory.memsw.limit_in_bytes'), bytes).catch(() => {})
      await writeFile(join(dir, 'cgroup.procs'), String(pid))
      return async () => {
        // rmdir fails while the process lives; after its exit the cgroup is empty.
        await rmdir(dir).catch(() => {})
      }
    },
  }
}
