import { describe, expect, it } from 'vitest'
import type { SystemConfig } from '../config/index.ts'
import { assignFree, type HostInfo, mayRun, placementOf } from './placement.ts'

const hosts: HostInfo[] = [
  { name: 'a', labels: { zone: 'east', disk: 'ssd' } },
  { name: 'b', labels: { zone: 'west' } },
  { name: 'c', labels: { zone: 'east' } },
]

describe('mayRun', () => {
  it('lets any host run a unit without placement', () => {
    expect(hosts.every((h) => mayRun(undefined, h))).toBe(true)
  })
  it('lets only the named hosts run a unit placed by name', () => {
    expect(hosts.filter((h) => mayRun({ hosts: ['b', 'c'] }, h)).map((h) => h.name)).toEqual(['b', 'c'])
  })
  it('needs every label to match', () => {
    const p = { labels: { zone: 'east', disk: 'ssd' } }
    expect(hosts.filter((h) => mayRun(p, h)).map((h) => h.name)).toEqual(['a'])
  })
  it('needs both the name and the labels when both are given', () => {
    expect(mayRun({ hosts: ['b'], labels: { zone: 'east' } }, hosts[1]!)).toBe(false)
    expect(mayRun({ hosts: ['c'], labels: { zone: 'east' } }, hosts[2]!)).toBe(true)
  })
})

describe('assignFree', () => {
  it('spreads the slots of a unit over the eligible hosts before doubling up', () => {
    const picks = assignFree({ unit: 'users', free: [1, 2, 3], placement: undefined, hosts, held: [] })
    expect(new Set(picks.values())).toEqual(new Set(['a', 'b', 'c']))
    const four = assignFree({ unit: 'users', free: [1, 2, 3, 4], placement: undefined, hosts, held: [] })
    const counts = [...four.values()].reduce<Record<string, number>>(
      (m, h) => Object.assign(m, { [h]: (m[h] ?? 0) + 1 }),
      {},
    )
    expect(Object.values(counts).sort()).toEqual([1, 1, 2])
  })

  it('gives a lost slot to a host without an instance of the unit', () => {
    const held = [
      { unit: 'users', slot: 1, host: 'a' },
      { unit: 'orders', slot: 1, host: 'b' },
    ]
    // Slot 2 was on the lost host: b and c hold no users; c holds nothing at all.
    expect(assignFree({ unit: 'users', free: [2], placement: undefined, hosts, held })).toEqual(
      new Map([[2, 'c']]),
    )
  })

  it('keeps to the placement, and leaves a slot no live host may run unassigned', () => {
    expect(assignFree({ unit: 'db', free: [1, 2], placement: { hosts: ['b'] }, hosts, held: [] })).toEqual(
      new Map([
        [1, 'b'],
        [2, 'b'],
      ]),
    )
    const withoutB = hosts.filter((h) => h.name !== 'b')
    expect(
      assignFree({ unit: 'db', free: [1], placement: { hosts: ['b'] }, hosts: withoutB, held: [] }),
    ).toEqual(new Map())
  })

  it('answers the same whatever the order the hosts are listed in', () => {
    const o = { unit: 'users', free: [1, 2, 3, 4, 5], placement: undefined, held: [] }
    expect(assignFree({ ...o, hosts })).toEqual(assignFree({ ...o, hosts: [...hosts].reverse() }))
  })
})

describe('placementOf', () => {
  const config: SystemConfig = {
    name: 'shop',
    services: {
      users: { entry: './u.ts', placement: { hosts: ['a'] } },
      orders: { entry: './o.ts' },
      audit: { entry: './x.ts', placement: { labels: { zone: 'east' } } },
      mail: { entry: './m.ts' },
    },
    groups: {
      core: { services: ['orders', 'audit'] },
      edge: { services: ['mail'], placement: { hosts: ['b'] } },
    },
  }
  it("takes a service's own, a group's own, else its first member's that has one", () => {
    expect(placementOf(config, 'users')).toEqual({ hosts: ['a'] })
    expect(placementOf(config, 'edge')).toEqual({ hosts: ['b'] })
    expect(placementOf(config, 'core')).toEqual({ labels: { zone: 'east' } })
    expect(placementOf(config, 'orders')).toBeUndefined()
  })
})
