import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cfsQuotaUs, cgroupCpu } from './cgroup-cpu.ts'

// The files a cgroup v1 cpu controller takes, in a folder standing in for /sys/fs/cgroup/cpu
// (the system test test/integration/containers/container-instances.test.ts checks the real one).
describe('cgroupCpu', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  const fakeRoot = () => {
    const d = mkdtempSync(join(tmpdir(), 'tessera-cgcpu-'))
    dirs.push(d)
    return d
  }

  it('writes the quota of the cores asked for in a 100 ms period, then the pid', async () => {
    const root = fakeRoot()
    const cpu = await cgroupCpu(root)
    expect(cpu).toBeDefined()
    await cpu!.limit(4242, 'shop-users-1', 0.25)
    const file = (f: string) => readFileSync(join(root, 'tessera', 'shop-users-1', f), 'utf8')
    expect(file('cpu.cfs_period_us')).toBe('100000')
    expect(file('cpu.cfs_quota_us')).toBe('25000')
    expect(file('cgroup.procs')).toBe('4242')
    expect([cfsQuotaUs(0.01), cfsQuotaUs(1.5), cfsQuotaUs(0.333)]).toEqual([1000, 150000, 33300])
  })

  it('is undefined where the controller cannot be written (the caller then logs that no limit applies)', async () => {
    const notADir = join(fakeRoot(), 'file')
    writeFileSync(notADir, '')
    expect(await cgroupCpu(notADir)).toBeUndefined()
  })
})
