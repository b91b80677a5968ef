import { describe, expect, it } from 'vitest'
import { defineSystem } from './define-system.ts'
import { planUnits } from './units.ts'

describe('isolation config', () => {
  it('marks a container unit, from a service or from its group; processes stay unmarked', () => {
    const config = defineSystem({
      name: 'shop',
      services: {
        users: { entry: './users.ts', isolation: 'container' },
        orders: { entry: './orders.ts', isolation: 'process' },
        catalog: { entry: './catalog.ts' },
        a: { entry: './a.ts' },
        b: { entry: './b.ts' },
      },
      groups: { core: { services: ['a', 'b'], isolation: 'container' } },
    })
    const units = Object.fromEntries(planUnits(config, '/root').map((u) => [u.name, u.isolation]))
    expect(units).toEqual({ users: 'container', orders: undefined, catalog: undefined, core: 'container' })
  })

  it('rejects an unknown isolation with the field named', () => {
    expect(() =>
      defineSystem({ name: 'shop', services: { users: { entry: './u.ts', isolation: 'vm' as never } } }),
    ).toThrow(/services\.users\.isolation/)
  })
})
