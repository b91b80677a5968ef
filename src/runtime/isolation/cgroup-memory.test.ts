import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cgroupMemory } from './cgroup-memory.ts'

// The files a cgroup v1 memory controller takes, in a folder standing in for
// /sys/fs/cgroup/memory (test/integration/runtime checks a real limit's OOM kill).
describe('cgroupMemory', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  it('writes the limit in bytes (with swap where accounted), then the pid; release removes the empty cgroup', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tessera-cgmem-'))
    dirs.push(root)
    const memory = await cgroupMemory(root)
    expect(memory).toBeDefined()
    const release = await memory!.limit(4243, 'shop-users-2', 96)
    const dir = join(root, 'tessera', 'shop-users-2')
    const file = (f: string) => readFileSync(join(dir, f), 'utf8')
    expect(file('memory.limit_in_bytes')).toBe(String(96 * 1024 * 1024))
    expect(file('memory.memsw.limit_in_bytes')).toBe(String(96 * 1024 * 1024))
    expect(file('cgroup.procs')).toBe('4243')
    // A real cgroup's files vanish with it; here they are plain files, so rmdir keeps them.
    await release()
    expect(existsSync(dir)).toBe(true)
    rmSync(dir, { recursive: true })
    await release()
  })
})
