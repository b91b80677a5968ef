import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { TesseraError } from '../../errors/index.ts'
import { hostLogs, logsQueryOf, mergeHostLogs } from './host-logs.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

const line = (at: number, msg: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ time: new Date(at).toISOString(), level: 30, instance: 'counter#1', msg, ...extra })

async function logsDir(files: Record<string, string[]>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-host-logs-'))
  dirs.push(dir)
  for (const [unit, lines] of Object.entries(files))
    await writeFile(join(dir, `${unit}.log`), `${lines.join('\n')}\n`)
  return dir
}

describe('hostLogs', () => {
  it('tags each line with its host and gives the instance label the host, as status shows it', async () => {
    const dir = await logsDir({
      counter: [line(1000, 'one'), 'not json', line(2000, 'two', { instance: 'x#1@a' })],
    })
    const got = await hostLogs(dir, 'b', {}, Number.POSITIVE_INFINITY)
    expect(got.cut).toBe(false)
    expect(got.lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ msg: 'one', instance: 'counter#1@b', host: 'b' }),
      { msg: 'not json', host: 'b' },
      expect.objectContaining({ msg: 'two', instance: 'x#1@a', host: 'b' }),
    ])
  })

  it('keeps the newest lines that fit the reply and says it cut', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => line(1000 + i, `line ${i}`))
    const dir = await logsDir({ counter: lines })
    const got = await hostLogs(dir, 'b', { level: 'info' }, 1000)
    expect(got.cut).toBe(true)
    expect(got.lines.length).toBeGreaterThan(0)
    expect(got.lines.length).toBeLessThan(50)
    expect(JSON.parse(got.lines.at(-1)!).msg).toBe('line 49')
    expect(got.lines.join('').length).toBeLessThanOrEqual(1000)
  })
})

describe('mergeHostLogs', () => {
  it('merges hosts by time, keeps the newest limit, and notes a host that did not answer or cut', async () => {
    const own = { host: 'a', logs: { lines: [line(1000, 'a1'), line(3000, 'a3')], cut: false } }
    const merged = await mergeHostLogs(
      own,
      [
        { host: 'b', answer: Promise.resolve({ lines: [line(2000, 'b2'), line(4000, 'b4')], cut: true }) },
        { host: 'c', answer: Promise.reject(new TesseraError('UNAVAILABLE', 'host c did not answer logs')) },
      ],
      3,
    )
    expect(merged.lines.map((l) => JSON.parse(l).msg)).toEqual(['b2', 'a3', 'b4'])
    expect(merged.notes).toEqual([
      'host c: no logs (host c did not answer logs)',
      'host b: only its newest 2 lines (narrow with -n or --since)',
    ])
  })
})

describe('logsQueryOf', () => {
  it('takes the known fields and refuses a bad one by name', () => {
    expect(logsQueryOf({ units: ['a'], level: 'warn', since: 5, limit: 10, other: 1 })).toEqual({
      units: ['a'],
      level: 'warn',
      since: 5,
      limit: 10,
    })
    expect(() => logsQueryOf({ limit: -1 })).toThrow(/limit must be a whole number/)
    expect(() => logsQueryOf({ units: 'a' })).toThrow(/units must be a list/)
    expect(() => logsQueryOf({ level: 'loud' })).toThrow(/level must be one of/)
  })
})
