import { describe, expect, it } from 'vitest'
import type { NodeInfo } from '../wire/index.ts'
import { Registry, type RegistryChange } from './registry.ts'

const node = (
  nodeId: string,
  seq: number,
  services: string[],
  subs: Record<string, 'balanced' | 'broadcast'> = {},
): NodeInfo => ({
  nodeId,
  seq,
  services: services.map((name) => ({
    name,
    version: '1.0.0',
    actions: { get: { idempotent: true } },
    subscriptions: subs,
  })),
})

describe('Registry', () => {
  it('lists the endpoints of a service, local ones first', () => {
    const r = new Registry('me')
    r.upsert(node('other', 1, ['users']))
    r.upsert(node('me', 1, ['users']))
    expect(r.endpoints('users')).toEqual([
      { nodeId: 'me', local: true },
      { nodeId: 'other', local: false },
    ])
    expect(r.endpoints('nobody')).toEqual([])
  })

  it('ignores an announcement older than the one it holds', () => {
    const r = new Registry('me')
    r.upsert(node('a', 5, ['users']))
    r.upsert(node('a', 4, []))
    expect(r.endpoints('users')).toHaveLength(1)
    r.upsert(node('a', 6, []))
    expect(r.endpoints('users')).toHaveLength(0)
  })

  it('tells listeners about joins, updates and leaves, and drops cached lookups', () => {
    const r = new Registry('me')
    const changes: RegistryChange['type'][] = []
    r.subscribe((c) => changes.push(c.type))
    r.upsert(node('a', 1, ['users']))
    expect(r.endpoints('users')).toHaveLength(1)
    r.upsert(node('a', 2, ['users', 'orders']))
    r.remove('a', 'crashed')
    r.remove('a', 'again')
    expect(changes).toEqual(['joined', 'updated', 'left'])
    expect(r.endpoints('users')).toEqual([])
    expect(r.action('users', 'get')).toBeUndefined()
  })

  it('groups event subscribers by service with their mode', () => {
    const r = new Registry('me')
    r.upsert(node('a', 1, ['mailer'], { 'order.placed': 'balanced' }))
    r.upsert(node('b', 1, ['mailer'], { 'order.placed': 'balanced' }))
    r.upsert(node('c', 1, ['cache'], { 'order.placed': 'broadcast' }))
    const groups = r.eventGroups('order.placed')
    expect(groups.map((g) => [g.service, g.mode, g.endpoints.map((e) => e.nodeId)])).toEqual([
      ['mailer', 'balanced', ['a', 'b']],
      ['cache', 'broadcast', ['c']],
    ])
    expect(r.eventGroups('nothing')).toEqual([])
  })

  it('finds what an action announced, and nothing for unknown or inherited names', () => {
    const r = new Registry('me')
    r.upsert(node('a', 1, ['users']))
    expect(r.action('users', 'get')?.action.idempotent).toBe(true)
    expect(r.action('users', 'toString')).toBeUndefined()
    expect(r.action('users', 'missing')).toBeUndefined()
  })
})
