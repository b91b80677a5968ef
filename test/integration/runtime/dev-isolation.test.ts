import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { watchUnits } from '../../../src/runtime/index.ts'
import type { UsersService } from './fixtures/users.ts'
import { fixtures, runSystem, sleep, startLoad, until } from './support.ts'

describe('dev mode', () => {
  it('rolls only the service whose code changed; the other keeps serving', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-dev-'))
    try {
      await mkdir(join(dir, 'users'))
      await mkdir(join(dir, 'greeter'))
      const usersAt = (v: string) =>
        `import { makeUsers } from '${join(fixtures, 'users.ts')}'\nexport default makeUsers({ version: '${v}' })\n`
      await writeFile(join(dir, 'users', 'index.ts'), usersAt('1.0.0'))
      await writeFile(
        join(dir, 'greeter', 'index.ts'),
        `export { default } from '${join(fixtures, 'greeter.ts')}'\n`,
      )
      await using sys = await runSystem(
        {
          name: 'dev',
          services: {
            users: { entry: './users/index.ts', instances: 2 },
            greeter: { entry: './greeter/index.ts', dependsOn: ['users'] },
          },
        },
        dir,
      )
      const greeterPid = sys.sup.unit('greeter').instances()[0]!.pid
      const rolled: string[] = []
      const stop = watchUnits(sys.sup, { debounceMs: 100, onRolled: (unit) => rolled.push(unit) })
      try {
        const load = startLoad(() => sys.client.call('greeter', 'hello', { id: '3' }), 6)
        await sleep(300)
        await writeFile(join(dir, 'users', 'index.ts'), usersAt('1.1.0'))
        await until(() => rolled.length > 0, 'users rolled', 30_000)
        await sleep(300)
        const result = await load.stop()

        expect(rolled).toEqual(['users'])
        expect(result.failures).toEqual([])
        expect(await sys.client.client<UsersService>('users').version({})).toBe('1.1.0')
        expect(sys.sup.unit('greeter').instances()[0]!.pid).toBe(greeterPid)
      } finally {
        stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('isolation', () => {
  it('a service exhausting its memory or spinning its CPU does not affect the others', {
    timeout: 60_000,
  }, async () => {
    await using sys = await runSystem({
      name: 'iso',
      services: {
        users: { entry: './users.ts', instances: 2 },
        hog: { entry: './hog.ts', memoryMb: 200 },
      },
    })
    const users = sys.client.client<UsersService>('users')
    const load = startLoad(() => users.get({ id: '1' }), 4)
    const hogPid = sys.sup.unit('hog').instances()[0]!.pid

    // Past its limit the hog dies (OOM kill under a cgroup, heap abort otherwise) and is restarted.
    const eaten = await sys.client.call('hog', 'eat', { mb: 600 }, { timeout: 20_000 }).catch((e: Error) => e)
    expect(eaten).toBeInstanceOf(Error)
    await until(
      () =>
        sys.sup.status().units[1]!.instances[0]!.state === 'ready' &&
        sys.sup.unit('hog').instances()[0]!.pid !== hogPid,
      'hog restarted',
      30_000,
    )
    expect(sys.events.some((e) => e.type === 'crashed' && e.unit === 'hog')).toBe(true)

    // A spinning handler blocks only its own process.
    await sys.client.waitFor(['hog'], 10_000)
    const spin = sys.client.call('hog', 'spin', { ms: 1500 }, { timeout: 20_000 }).then(
      () => undefined,
      (e: unknown) => e,
    )
    await sleep(1000)
    const okBefore = load.ok
    expect(await spin).toBeUndefined()
    const result = await load.stop()
    expect(result.ok).toBeGreaterThan(okBefore)
    expect(result.failures).toEqual([])
  })

  it('kills and replaces an instance whose event loop is blocked', { timeout: 40_000 }, async () => {
    await using sys = await runSystem({
      name: 'blocked',
      services: { users: { entry: './users.ts' }, hog: { entry: './hog.ts' } },
      health: { pingIntervalMs: 200, pingTimeoutMs: 1000 },
    })
    const hogPid = sys.sup.unit('hog').instances()[0]!.pid
    const spun = await sys.client
      .call('hog', 'spin', { ms: 8000 }, { timeout: 20_000 })
      .catch((e: Error) => e)
    expect(spun).toBeInstanceOf(Error)
    // The caller may notice the dead connection before the supervisor sees the exit.
    await until(() => sys.events.some((e) => e.type === 'crashed'), 'crash reported')
    expect(sys.events.find((e) => e.type === 'crashed')).toMatchObject({
      unit: 'hog',
      reason: expect.stringMatching(/unresponsive/),
    })
    await until(
      () =>
        sys.sup.unit('hog').instances()[0]?.pid !== hogPid &&
        sys.sup.status().units[1]!.instances[0]!.state === 'ready',
      'hog replaced',
    )
    expect(await sys.client.client<UsersService>('users').get({ id: '2' })).toMatchObject({ id: '2' })
  })
})
