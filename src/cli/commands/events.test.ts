import { describe, expect, it } from 'vitest'
import type { DeadEvent } from '../../transport/index.ts'
import { deadReplay, deadTable, formatAge } from './events.ts'

const dead = (key: string, error: string, at: number): DeadEvent => ({
  key,
  envelope: {
    id: key.split(':')[1] ?? '',
    event: 'order.placed',
    service: 'orders',
    payload: {},
    requestId: 'r',
    traceparent: '00-0-0-01',
    at,
  },
  service: key.split(':')[0] ?? '',
  deliveries: 5,
  error,
  at,
})

describe('tessera events', () => {
  it('tabulates dead letters: key, event, service, deliveries, the error on one short line, age', () => {
    const now = 10_000_000
    const long = `UNAVAILABLE: smtp\nunreachable ${'x'.repeat(80)}`
    expect(deadTable([dead('notifications:e1', long, now - 125_000)], now)).toEqual([
      ['KEY', 'EVENT', 'SERVICE', 'DELIVERIES', 'ERROR', 'AGE'],
      [
        'notifications:e1',
        'order.placed',
        'notifications',
        '5',
        `UNAVAILABLE: smtp unreachable ${'x'.repeat(29)}…`,
        '2m',
      ],
    ])
  })

  it('gives ages in the largest whole unit', () => {
    expect([0, 59_999, 60_000, 3_599_999, 3_600_000, 86_400_000, -5].map(formatAge)).toEqual([
      '0s',
      '59s',
      '1m',
      '59m',
      '1h',
      '1d',
      '0s',
    ])
  })

  it('refuses a replay without keys or --all, or with both, before asking the system', async () => {
    // No state dir exists here: these fail on the arguments, not on the missing system.
    const options = { stateDir: '/nonexistent-tessera-state' }
    await expect(deadReplay([], options)).rejects.toThrow(
      'give the keys to replay, or --all (with --service S, that service’s)',
    )
    await expect(deadReplay(['a:b'], { ...options, all: true })).rejects.toThrow(
      'give keys or --all, not both',
    )
    await expect(deadReplay(['a:b'], { ...options, service: 'a' })).rejects.toThrow(
      '--service selects with --all; keys already name their service',
    )
    await expect(deadReplay(['a:b'], options)).rejects.toThrow(/no running system found/)
  })
})
