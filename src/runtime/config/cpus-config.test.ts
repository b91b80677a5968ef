import { describe, expect, it } from 'vitest'
import { defineSystem, validateSystem } from './define-system.ts'
import type { SystemConfig } from './schema.ts'
import { planUnits } from './units.ts'

describe('cpus config', () => {
  it('gives a unit its cpus: a service its own, a group its own or its members added up', () => {
    const config: SystemConfig = {
      name: 'shop',
      services: {
        users: { entry: './users.ts', cpus: 0.5 },
        orders: { entry: './orders.ts' },
        a: { entry: './a.ts', cpus: 0.1 },
        b: { entry: './b.ts', cpus: 0.2 },
        c: { entry: './c.ts', cpus: 0.4 },
        d: { entry: './d.ts' },
      },
      groups: { ab: { services: ['a', 'b'] }, cd: { services: ['c', 'd'], cpus: 1 } },
    }
    expect(validateSystem(config, 2)).toEqual([])
    const cpus = Object.fromEntries(planUnits(config, '/root').map((u) => [u.name, u.cpus]))
    // 0.1 + 0.2 is exactly 0.3 here, as podman and Kubernetes are given it.
    expect(cpus).toEqual({ users: 0.5, orders: undefined, ab: 0.3, cd: 1 })
  })

  it('rejects zero, a negative or a tiny share with the field named', () => {
    for (const cpus of [0, -1, 0.001]) {
      const issues = validateSystem({ name: 'shop', services: { users: { entry: './u.ts', cpus } } }, 2)
      expect(issues.map((i) => i.path)).toEqual(['services.users.cpus'])
      expect(issues[0]!.message).toMatch(/0\.01/)
    }
    expect(() =>
      defineSystem({ name: 'shop', services: { users: { entry: './u.ts', cpus: 'two' as never } } }),
    ).toThrow(/services\.users\.cpus: Expected number/)
  })

  it('rejects more cpus than the machine has cores, for a service, a group and a group of members', () => {
    const issues = validateSystem(
      {
        name: 'shop',
        services: {
          users: { entry: './u.ts', cpus: 3 },
          a: { entry: './a.ts', cpus: 1.5 },
          b: { entry: './b.ts', cpus: 1 },
          c: { entry: './c.ts' },
        },
        groups: { ab: { services: ['a', 'b'] }, solo: { services: ['c'], cpus: 4 } },
      },
      2,
    )
    expect(issues).toEqual([
      { path: 'services.users.cpus', message: '3 is more than the 2 cores of this machine' },
      {
        path: 'groups.ab',
        message:
          "its members' cpus add up to 2.5, more than the 2 cores of this machine: set cpus on the group",
      },
      { path: 'groups.solo.cpus', message: '4 is more than the 2 cores of this machine' },
    ])
  })
})
