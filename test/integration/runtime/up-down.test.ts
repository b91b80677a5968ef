import { describe, expect, it } from 'vitest'
import { defineSystem, validateSystem } from '../../../src/runtime/index.ts'
import type { UsersService } from './fixtures/users.ts'
import { runSystem } from './support.ts'

describe('a system config', () => {
  it('names the exact field that is wrong', () => {
    expect(
      validateSystem({ name: 'shop', services: { users: { entry: './u.ts', instances: 'two' } } }),
    ).toEqual([{ path: 'services.users.instances', message: expect.stringContaining('integer') }])
    expect(() =>
      defineSystem({
        name: 'shop',
        services: { users: { entry: './u.ts', dependsOn: ['orders'] } },
      }),
    ).toThrow(/services\.users\.dependsOn\.0: unknown service "orders"/)
  })

  it('rejects dependency cycles and services in two groups', () => {
    const issues = validateSystem({
      name: 'shop',
      services: { a: { entry: 'a.ts', dependsOn: ['b'] }, b: { entry: 'b.ts', dependsOn: ['a'] } },
    })
    expect(issues[0]?.message).toMatch(/dependency cycle: a -> b -> a/)
    expect(
      validateSystem({
        name: 'shop',
        services: { a: { entry: 'a.ts' } },
        groups: { one: { services: ['a'] }, two: { services: ['a'] } },
      }),
    ).toEqual([{ path: 'groups.two.services.0', message: '"a" is already in group "one"' }])
  })
})

describe('up and down', () => {
  it('starts a 2-service system in dependency order, serves calls, reports status, stops', async () => {
    await using sys = await runSystem({
      name: 'updown',
      services: {
        greeter: { entry: './greeter.ts', dependsOn: ['users'] },
        users: { entry: './users.ts', instances: 2 },
      },
    })
    const ready = sys.events.filter((e) => e.type === 'ready').map((e) => e.unit)
    expect(ready).toEqual(['users', 'users', 'greeter'])
    expect(await sys.client.call('greeter', 'hello', { id: '7' })).toBe('Hello, user 7!')
    expect((await sys.client.client<UsersService>('users').get({ id: '1' })).name).toBe('user 1')

    const status = sys.sup.status()
    expect(status.units.map((u) => [u.name, u.state, u.instances.length])).toEqual([
      ['users', 'running', 2],
      ['greeter', 'running', 1],
    ])
    const one = status.units[0]!.instances[0]!
    expect(one).toMatchObject({
      label: 'users#1',
      state: 'ready',
      versions: [{ name: 'users', version: '1.0.0' }],
    })
    expect(one.pid).toBeGreaterThan(0)
    expect(one.rssBytes).toBeGreaterThan(1_000_000)

    await sys.sup.down()
    expect(sys.sup.status().units.every((u) => u.state === 'stopped')).toBe(true)
  })

  it('runs grouped services in one process (monolith mode)', async () => {
    await using sys = await runSystem({
      name: 'mono',
      services: {
        greeter: { entry: './greeter.ts', dependsOn: ['users'] },
        users: { entry: './users.ts' },
      },
      groups: { core: { services: ['users', 'greeter'] } },
    })
    const status = sys.sup.status()
    expect(status.units).toHaveLength(1)
    expect(status.units[0]).toMatchObject({ name: 'core', services: ['greeter', 'users'] })
    expect(await sys.client.call('greeter', 'hello', { id: '1' })).toBe('Hello, user 1!')
  })
})
