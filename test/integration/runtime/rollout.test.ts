import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { UsersService } from './fixtures/users.ts'
import { fixtures, runSystem, sleep, startLoad } from './support.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-code-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Writes the users entry "on disk" as a given version, or as a build that throws on load. */
async function writeUsers(version: string | 'broken'): Promise<void> {
  const code =
    version === 'broken'
      ? `throw new Error('broken build')\n`
      : `import { makeUsers } from '${join(fixtures, 'users.ts')}'\nexport default makeUsers({ version: '${version}' })\n`
  await writeFile(join(dir, 'users.ts'), code)
}

describe('rolling operations under load', () => {
  it('restarts with calls in the handlers and fails none (non-idempotent, one instance)', {
    timeout: 40_000,
  }, async () => {
    await writeUsers('1.0.0')
    await using sys = await runSystem({ name: 'restart', services: { users: { entry: './users.ts' } } }, dir)
    const users = sys.client.client<UsersService>('users')
    const load = startLoad(() => users.touch({ delayMs: 150 }), 8)
    await sleep(400)
    const before = sys.sup.unit('users').instances()[0]!.pid
    const progress: string[] = []
    await sys.sup.restart('users', (line) => progress.push(line))
    await sleep(400)
    const result = await load.stop()

    expect(result.failures).toEqual([])
    expect(result.ok).toBeGreaterThan(20)
    expect(sys.sup.unit('users').instances()[0]!.pid).not.toBe(before)
    expect(progress.join('\n')).toMatch(/starting replacement[\s\S]*draining old instance/)
  })

  it('deploys the code on disk under load, and rolls a broken build back', { timeout: 60_000 }, async () => {
    await writeUsers('1.0.0')
    await using sys = await runSystem(
      { name: 'deploy', services: { users: { entry: './users.ts', instances: 2 } } },
      dir,
    )
    const users = sys.client.client<UsersService>('users')
    const load = startLoad(() => users.touch({ delayMs: 50 }), 8)
    await sleep(300)

    await writeUsers('2.0.0')
    await sys.sup.deploy('users')
    await sleep(300)
    expect(await users.version({})).toBe('2.0.0')
    expect(sys.sup.status().units[0]!.instances.map((i) => i.versions[0]?.version)).toEqual([
      '2.0.0',
      '2.0.0',
    ])

    await writeUsers('broken')
    await expect(sys.sup.deploy('users')).rejects.toThrow(/rolled back: .*broken build/)
    await sleep(300)
    const result = await load.stop()

    expect(result.failures).toEqual([])
    expect(await users.version({})).toBe('2.0.0')
    expect(sys.events.some((e) => e.type === 'rolled-back')).toBe(true)
    expect(sys.sup.status().units[0]).toMatchObject({ state: 'running', restarts: 0 })
  })
})
