import { describe, expect, it } from 'vitest'
import { contractOf, diffContracts, formatContractDiff } from './contract-diff.ts'
import { Type as T } from './index.ts'
import { defineService } from './service.ts'

const v1 = defineService({
  name: 'users',
  version: '1.0.0',
  events: { 'user.created': T.Object({ id: T.String(), email: T.String() }) },
  actions: ({ action }) => ({
    get: action({
      input: T.Object({ id: T.String() }),
      output: T.Object({ id: T.String(), name: T.String() }),
      handler: ({ id }) => ({ id, name: 'x' }),
    }),
    remove: action({ input: T.Object({ id: T.String() }), output: T.Null(), handler: () => null }),
  }),
})

describe('diffContracts', () => {
  it('accepts a new optional field, a new action and a new event, and lists them', () => {
    const v2 = defineService({
      name: 'users',
      version: '1.1.0',
      events: {
        'user.created': T.Object({ id: T.String(), email: T.String() }),
        'user.renamed': T.Object({ id: T.String() }),
      },
      actions: ({ action }) => ({
        get: action({
          input: T.Object({ id: T.String(), fields: T.Optional(T.Array(T.String())) }),
          output: T.Object({ id: T.String(), name: T.String(), avatar: T.Optional(T.String()) }),
          handler: ({ id }) => ({ id, name: 'x' }),
        }),
        remove: action({ input: T.Object({ id: T.String() }), output: T.Null(), handler: () => null }),
        rename: action({ input: T.Object({ id: T.String() }), output: T.Null(), handler: () => null }),
      }),
    })
    const diff = diffContracts(contractOf(v1), contractOf(v2))
    expect(diff.breaking).toEqual([])
    expect(diff.compatible.map((c) => `${c.where}: ${c.what}`)).toEqual([
      'action get: schema changed compatibly',
      'action rename: added',
      'event user.renamed: added',
    ])
  })

  it('refuses a removed action, a new required input, a removed output field and a dropped event, naming who is hit', () => {
    const v2 = defineService({
      name: 'users',
      version: '2.0.0',
      events: {},
      actions: ({ action }) => ({
        get: action({
          input: T.Object({ id: T.String(), tenant: T.String() }),
          output: T.Object({ id: T.String() }),
          handler: ({ id }) => ({ id }),
        }),
      }),
    })
    const diff = diffContracts(contractOf(v1), contractOf(v2), {
      callers: { get: ['orders', 'gateway'], remove: ['admin'] },
      subscribers: { 'user.created': ['notifications'] },
    })
    expect(formatContractDiff(diff)).toBe(
      [
        'users 1.0.0 → 2.0.0',
        '  ✗ action get input.tenant: now required, was absent (used by orders, gateway)',
        '  ✗ action get output.name: removed (used by orders, gateway)',
        '  ✗ action remove: removed (used by admin)',
        '  ✗ event user.created: no longer emitted (used by notifications)',
        '4 breaking changes',
      ].join('\n'),
    )
  })
})
