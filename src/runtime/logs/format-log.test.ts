import { describe, expect, it } from 'vitest'
import { formatLogRecord } from './format-log.ts'

describe('formatLogRecord', () => {
  it('prints time, instance, level, msg, then request and trace ids and the other fields', () => {
    const line = formatLogRecord({
      time: '2025-03-01T10:00:00.123Z',
      level: 'warn',
      instance: 'users#2',
      unit: 'users',
      service: 'users',
      node: 'n1',
      msg: 'slow call',
      ms: 900,
      traceId: 't1',
      requestId: 'r1',
      note: 'two words',
      err: { message: 'x\ny' },
    })
    expect(line).toBe(
      '10:00:00.123 users#2 WARN  slow call requestId=r1 traceId=t1 ms=900 note="two words" err={"message":"x\\ny"}',
    )
  })

  it('prints a line that never was JSON as it was', () => {
    expect(formatLogRecord({ msg: '2024-01-01T00:00:00Z [users#1] info ready' })).toBe(
      '2024-01-01T00:00:00Z [users#1] info ready',
    )
  })
})
