import { describe, expect, it } from 'vitest'
import { Registry } from '../../registry/index.ts'
import { contractUse } from './contract-use.ts'

describe('contractUse', () => {
  it('names the callers per action from the metrics and the subscribers per event from the registry', () => {
    const metrics = [
      '# TYPE tessera_calls_total counter',
      'tessera_calls_total{caller="orders",service="users",action="get",code="OK",unit="orders",instance="orders#1"} 12',
      'tessera_calls_total{caller="gateway",service="users",action="get",code="TIMEOUT",unit="gateway",instance="gateway#1"} 1',
      'tessera_calls_total{caller="(outside)",service="users",action="remove",code="OK"} 3',
      'tessera_calls_total{caller="users",service="users",action="get",code="OK"} 5',
      'tessera_calls_total{caller="orders",service="catalog",action="reserve",code="OK"} 4',
      'tessera_calls_total{caller="admin",service="users",action="ban",code="OK"} 0',
    ].join('\n')
    const registry = new Registry('supervisor')
    registry.upsert({
      nodeId: 'n1',
      seq: 1,
      meta: {},
      services: [
        { name: 'notifications', version: '1', actions: {}, subscriptions: { 'user.created': 'balanced' } },
        { name: 'users', version: '1', actions: {}, subscriptions: { 'user.created': 'broadcast' } },
      ],
    })
    expect(contractUse(['users'], metrics, registry)).toEqual({
      callers: { get: ['gateway', 'orders'], remove: ['(outside)'] },
      subscribers: { 'user.created': ['notifications'] },
    })
  })
})
