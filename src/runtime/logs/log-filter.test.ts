import { describe, expect, it } from 'vitest'
import { matchesFilter, parseLevel, parseSince } from './log-filter.ts'

describe('matchesFilter', () => {
  const rec = { level: 'warn', time: '2025-03-01T10:00:00.000Z', requestId: 'r1', traceId: 't1' }

  it('keeps records at the level and above, by name or pino number', () => {
    expect(matchesFilter(rec, { level: 'warn' })).toBe(true)
    expect(matchesFilter(rec, { level: 'error' })).toBe(false)
    expect(matchesFilter({ level: 50 }, { level: 'warn' })).toBe(true)
    expect(matchesFilter({ msg: 'no level' }, { level: 'trace' })).toBe(false)
  })

  it('matches request id, trace id and since exactly, all together', () => {
    const since = Date.parse(rec.time)
    expect(matchesFilter(rec, { requestId: 'r1', traceId: 't1', since })).toBe(true)
    expect(matchesFilter(rec, { requestId: 'r2' })).toBe(false)
    expect(matchesFilter(rec, { traceId: 't2' })).toBe(false)
    expect(matchesFilter(rec, { since: since + 1 })).toBe(false)
    expect(matchesFilter({ msg: 'no time' }, { since: 0 })).toBe(false)
  })
})

describe('parsing flags', () => {
  it('takes level names in any case and names the choices otherwise', () => {
    expect(parseLevel('WARN')).toBe('warn')
    expect(() => parseLevel('loud')).toThrow(
      /level must be one of trace, debug, info, warn, error, fatal, not "loud"/,
    )
  })

  it('takes durations, combined durations and ISO times', () => {
    const now = 1_000_000_000
    expect(parseSince('30s', now)).toBe(now - 30_000)
    expect(parseSince('1h30m', now)).toBe(now - 5_400_000)
    expect(parseSince('500ms', now)).toBe(now - 500)
    expect(parseSince('2025-03-01T10:00:00Z', now)).toBe(Date.parse('2025-03-01T10:00:00Z'))
    expect(() => parseSince('yesterday', now)).toThrow(/since must be a duration such as 30s/)
    expect(() => parseSince('10', now)).toThrow(/since must be a duration/)
  })
})
