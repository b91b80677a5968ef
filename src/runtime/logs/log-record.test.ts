import { describe, expect, it } from 'vitest'
import { instanceRecord, levelName, parseLogLine, supervisorRecord } from './log-record.ts'

const at = new Date('2025-03-01T10:00:00.000Z')

describe('instanceRecord', () => {
  it('adds unit and the instance label to a JSON line, keeping its time and fields', () => {
    const line =
      '{"level":"info","time":"2025-03-01T09:59:59.000Z","service":"users","requestId":"r1","msg":"hi"}'
    const rec = instanceRecord(line, 'users', 'users#2', 'stdout', at)
    expect(rec).toEqual({
      time: '2025-03-01T09:59:59.000Z',
      level: 'info',
      instance: 'users#2',
      unit: 'users',
      service: 'users',
      requestId: 'r1',
      msg: 'hi',
    })
    expect(Object.keys(rec).slice(0, 4)).toEqual(['time', 'level', 'instance', 'unit'])
  })

  it('lets the label win over an instance field a handler logged, and adds a missing time', () => {
    const rec = instanceRecord('{"msg":"x","instance":"mine"}', 'users', 'users#1', 'stdout', at)
    expect(rec).toMatchObject({ instance: 'users#1', time: at.toISOString(), level: 'info' })
  })

  it('wraps a line that is not a JSON object: stderr as error, stdout as info', () => {
    expect(instanceRecord('    at foo (x.js:1:1)', 'users', 'users#1', 'stderr', at)).toEqual({
      time: at.toISOString(),
      level: 'error',
      instance: 'users#1',
      unit: 'users',
      msg: '    at foo (x.js:1:1)',
      stream: 'stderr',
    })
    expect(instanceRecord('[1,2]', 'users', 'users#1', 'stdout', at)).toMatchObject({
      level: 'info',
      msg: '[1,2]',
      stream: 'stdout',
    })
    expect(instanceRecord('{broken', 'users', 'users#1', 'stdout', at).msg).toBe('{broken')
  })
})

describe('supervisorRecord', () => {
  it('files an event under the supervisor, crashes as warnings', () => {
    const event = { type: 'crashed', unit: 'users', instance: 'users#1' }
    expect(supervisorRecord(event, 'users#1 crashed', at)).toEqual({
      time: at.toISOString(),
      level: 'warn',
      instance: 'supervisor',
      unit: 'users',
      msg: 'users#1 crashed',
      event,
    })
    expect(supervisorRecord({ type: 'ready', unit: 'users' }, 'ok', at).level).toBe('info')
    expect(supervisorRecord({ type: 'crash-loop', unit: 'users' }, 'loop', at).level).toBe('error')
  })
})

describe('levels', () => {
  it('names pino numbers and passes names through', () => {
    expect(levelName(40)).toBe('warn')
    expect(levelName(45)).toBe('warn')
    expect(levelName('error')).toBe('error')
    expect(levelName(undefined)).toBe('-')
  })

  it('parses only JSON objects', () => {
    expect(parseLogLine('{"a":1}')).toEqual({ a: 1 })
    expect(parseLogLine('null')).toBeUndefined()
    expect(parseLogLine('2025 [x] old text')).toBeUndefined()
  })
})
