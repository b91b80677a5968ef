import { describe, expect, it } from 'vitest'
import { Registry } from '../../registry/index.ts'
import type { NodeInfo, ServiceInfo } from '../../transport/index.ts'
import { type ContractMismatch, watchContracts } from './contract-watch.ts'
import type { SystemStatus } from './supervisor.ts'

const str = { type: 'string' }
const obj = (properties: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  properties,
  required,
})

/** `users` at `version`; `tenant` adds a required (breaking) or optional (compatible) input field. */
function users(version: string, tenant?: 'required' | 'optional'): ServiceInfo {
  const properties: Record<string, unknown> = { id: str, ...(tenant ? { tenant: str } : {}) }
  const required = ['id', ...(tenant === 'required' ? ['tenant'] : [])]
  return {
    name: 'users',
    version,
    actions: {
      get: { idempotent: true, input: obj(properties, required), output: obj({ name: str }, ['name']) },
    },
    subscriptions: {},
  }
}

let seq = 0
const node = (nodeId: string, services: ServiceInfo[]): NodeInfo => ({ nodeId, seq: ++seq, services })

/** A system whose unit `users` has the instances with these node ids. */
function status(ownNodes: string[]): SystemStatus {
  return {
    system: 's',
    transport: 'socket',
    units: [
      {
        name: 'users',
        services: ['users'],
        adapters: [],
        listen: undefined,
        state: 'running',
        restarts: 0,
        instances: ownNodes.map((nodeId, i) => ({
          label: `users#${i + 1}`,
          nodeId,
          state: 'ready',
          pid: 1,
          versions: [],
          uptimeMs: 1,
          handled: 0,
          reqPerSec: 0,
          rssBytes: undefined,
          cpuPercent: undefined,
        })),
      },
    ],
  }
}

function setup(own: string[]) {
  const registry = new Registry('supervisor')
  const seen: ContractMismatch[] = []
  const ownNodes = [...own]
  for (const id of own) registry.upsert(node(id, [users('1.0.0')]))
  const watch = watchContracts({
    registry,
    status: () => status(ownNodes),
    onMismatch: (m) => seen.push(m),
    now: () => 42,
  })
  return { registry, seen, watch, ownNodes }
}

describe('watchContracts', () => {
  it('reports a foreign node whose contract breaks the running one, once, with the diff', () => {
    const { registry, seen, watch } = setup(['users-1'])
    registry.upsert(node('by-hand', [users('2.0.0', 'required')]))
    registry.upsert(node('by-hand', [users('2.0.0', 'required')])) // re-announced: not again
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({
      unit: 'users',
      service: 'users',
      node: 'by-hand',
      version: '2.0.0',
      runningVersion: '1.0.0',
      own: false,
      at: 42,
    })
    expect(seen[0]?.diff.breaking.map((c) => c.where)).toEqual(['action get input.tenant'])
    expect(seen[0]?.text).toContain('action get input.tenant')
    expect(watch.recent()).toEqual(seen)
  })

  it('lets a compatible joiner pass, and judges nothing without an own instance to compare with', () => {
    const { registry, seen } = setup(['users-1'])
    registry.upsert(node('compatible', [users('1.1.0', 'optional')]))
    expect(seen).toEqual([])
    const lone = setup([])
    lone.registry.upsert(node('by-hand', [users('2.0.0', 'required')]))
    expect(lone.seen).toEqual([])
  })

  it('reports its own instance of newer code (a restart), judged against the others', () => {
    const { registry, seen, ownNodes } = setup(['users-1'])
    ownNodes.push('users-2')
    registry.upsert(node('users-2', [users('2.0.0', 'required')]))
    expect(seen.map((m) => [m.node, m.own])).toEqual([['users-2', true]])
  })

  it('judges a node again after it left and came back, and stops on stop()', () => {
    const { registry, seen, watch } = setup(['users-1'])
    registry.upsert(node('by-hand', [users('2.0.0', 'required')]))
    registry.remove('by-hand', 'gone')
    registry.upsert(node('by-hand', [users('2.0.0', 'required')]))
    expect(seen).toHaveLength(2)
    watch.stop()
    registry.upsert(node('other', [users('3.0.0', 'required')]))
    expect(seen).toHaveLength(2)
  })

  it('judges the nodes already there when it starts', () => {
    const registry = new Registry('supervisor')
    registry.upsert(node('users-1', [users('1.0.0')]))
    registry.upsert(node('early', [users('2.0.0', 'required')]))
    const seen: ContractMismatch[] = []
    watchContracts({ registry, status: () => status(['users-1']), onMismatch: (m) => seen.push(m) })
    expect(seen.map((m) => m.node)).toEqual(['early'])
  })
})
