import { describe, expect, it } from 'vitest'
import { defineSystem, validateSystem } from './define-system.ts'
import { planUnits } from './units.ts'

const system = (users: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: 'shop',
  services: { users: { entry: './users.ts', ...users } },
  ...extra,
})

describe('autoscale config', () => {
  it('fills in the defaults and starts the unit at its min', () => {
    const config = defineSystem(system({ autoscale: { min: 2, max: 4, target: { inFlight: 8 } } }) as never)
    const [unit] = planUnits(config, '/root')
    expect(unit!.instances).toBe(2)
    expect(unit!.autoscale).toEqual({
      min: 2,
      max: 4,
      target: { metric: 'inFlight', value: 8 },
      cooldownMs: 15_000,
      outAfterMs: 3000,
      inAfterMs: 15_000,
      inBelow: 0.5,
    })
  })

  it('takes a p99 target and the group’s autoscale for a group', () => {
    const config = defineSystem({
      name: 'shop',
      services: { users: { entry: './users.ts' }, orders: { entry: './orders.ts' } },
      groups: {
        core: {
          services: ['users', 'orders'],
          autoscale: { min: 1, max: 3, target: { p99Ms: 50 }, cooldownMs: 0 },
        },
      },
    })
    const [unit] = planUnits(config, '/root')
    expect(unit!.autoscale).toMatchObject({ target: { metric: 'p99Ms', value: 50 }, cooldownMs: 0 })
  })

  it('rejects min above max, naming the field', () => {
    expect(() =>
      defineSystem(system({ autoscale: { min: 3, max: 2, target: { inFlight: 8 } } }) as never),
    ).toThrow('services.users.autoscale: min (3) must not be above max (2)')
  })

  it('rejects a target that is not positive, and an unknown field', () => {
    const paths = (users: Record<string, unknown>) => validateSystem(system(users)).map((i) => i.path)
    expect(paths({ autoscale: { min: 1, max: 2, target: { inFlight: 0 } } })).toContain(
      'services.users.autoscale.target',
    )
    expect(paths({ autoscale: { min: 1, max: 2, target: { p99Ms: -5 } } })).toContain(
      'services.users.autoscale.target',
    )
    expect(paths({ autoscale: { min: 1, max: 2, target: { inFlight: 8 }, cooldown: 5 } })).toContain(
      'services.users.autoscale.cooldown',
    )
    expect(paths({ autoscale: { min: 1, max: 2, target: { rps: 8 } } })).toContain(
      'services.users.autoscale.target',
    )
  })

  it('rejects instances outside the bounds and autoscale on a grouped service', () => {
    expect(
      validateSystem(system({ instances: 5, autoscale: { min: 1, max: 3, target: { inFlight: 8 } } })),
    ).toEqual([
      {
        path: 'services.users.instances',
        message: '5 is outside autoscale bounds 1..3 (leave it out to start at min)',
      },
    ])
    expect(
      validateSystem(
        system(
          { autoscale: { min: 1, max: 3, target: { inFlight: 8 } } },
          { groups: { core: { services: ['users'] } } },
        ),
      ),
    ).toEqual([
      {
        path: 'services.users.autoscale',
        message: '"users" runs in group "core": set autoscale on the group',
      },
    ])
  })
})
