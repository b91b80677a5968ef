import { mkdir, rmdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** One setting of a process's cgroup: a controller file and its value. */
export interface CgroupSetting {
  file: string
  value: string
  /** Absent on some kernels (e.g. `memory.memsw.*` without swap accounting): a failed write is skipped. */
  optional?: boolean
}

/** Per-process cgroups under `<controller root>/tessera/<name>`. */
export interface CgroupV1 {
  /**
   * Makes `<name>`'s cgroup, writes `settings` in order, then moves `pid` into it;
   * resolves with a release function that removes the cgroup once the process is gone.
   */
  place(pid: number, name: string, settings: CgroupSetting[]): Promise<() => Promise<void>>
}

/**
 * Resolves when `<root>/tessera` can be created (root, cgroup v1 with that controller
 * mounted at `root`), else undefined: the caller runs its processes without that limit.
 */
export async function cgroupV1(root: string): Promise<CgroupV1 | undefined> {
  const base = join(root, 'tessera')
  try {
    await mkdir(base, { recursive: true })
    await writeFile(join(base, 'cgroup.procs'), '').catch(() => {})
  } catch {
    return undefined
  }
  return {
    async place(pid, name, settings) {
      const dir = join(base, name)
      await mkdir(dir, { recursive: true })
      for (const s of settings) {
        const written = writeFile(join(dir, s.file), s.value)
        await (s.optional ? written.catch(() => {}) : written)
      }
      await writeFile(join(dir, 'cgroup.procs'), String(pid))
      return async () => {
        // rmdir fails while the process lives; after its exit the cgroup is empty.
        await rmdir(dir).catch(() => {})
      }
    },
  }
}
