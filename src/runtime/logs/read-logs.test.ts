import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { followLogs } from './follow-logs.ts'
import { createLogFiles } from './log-files.ts'
import { logUnits, readLogs } from './read-logs.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-logs-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

const line = (o: Record<string, unknown>) => `${JSON.stringify(o)}\n`
const t = (s: number) => new Date(Date.UTC(2025, 2, 1, 10, 0, s)).toISOString()

describe('readLogs', () => {
  it('reads the rotated file before the current one and filters by level and request id', async () => {
    await writeFile(
      join(dir, 'users.log.1'),
      line({ time: t(1), level: 'info', msg: 'a', requestId: 'r1' }) +
        line({ time: t(2), level: 'error', msg: 'b', requestId: 'r2' }),
    )
    await writeFile(
      join(dir, 'users.log'),
      line({ time: t(3), level: 'warn', msg: 'c', requestId: 'r1' }) +
        line({ time: t(4), level: 'debug', msg: 'd' }),
    )
    const msgs = async (o: Parameters<typeof readLogs>[1]) =>
      (await readLogs(dir, o)).map((e) => e.record.msg)
    expect(await msgs({})).toEqual(['a', 'b', 'c', 'd'])
    expect(await msgs({ filter: { level: 'warn' } })).toEqual(['b', 'c'])
    expect(await msgs({ filter: { requestId: 'r1' } })).toEqual(['a', 'c'])
    expect(await msgs({ limit: 3 })).toEqual(['b', 'c', 'd'])
    expect(await msgs({ filter: { since: Date.parse(t(3)) } })).toEqual(['c', 'd'])
  })

  it('merges units by time and lists the units that have logs', async () => {
    await writeFile(join(dir, 'a.log'), line({ time: t(1), msg: 'a1' }) + line({ time: t(3), msg: 'a3' }))
    await writeFile(join(dir, 'b.log.1'), line({ time: t(2), msg: 'b2' }))
    await writeFile(join(dir, 'b.log'), line({ time: t(4), msg: 'b4' }))
    expect(await logUnits(dir)).toEqual(['a', 'b'])
    const all = await readLogs(dir)
    expect(all.map((e) => `${e.unit}:${e.record.msg}`)).toEqual(['a:a1', 'b:b2', 'a:a3', 'b:b4'])
    expect((await readLogs(dir, { units: ['b'], limit: 1 })).map((e) => e.record.msg)).toEqual(['b4'])
  })

  it('reads lines longer than its chunk and lines that are not JSON', async () => {
    const big = 'x'.repeat(200_000)
    await writeFile(
      join(dir, 'u.log'),
      `old text line\n${line({ time: t(1), msg: big })}${line({ time: t(2), msg: 'é' })}`,
    )
    const entries = await readLogs(dir)
    expect(entries.map((e) => String(e.record.msg).length)).toEqual([13, 200_000, 1])
    expect(entries[0]!.line).toBe('old text line')
  })

  it('reads what the supervisor writes, across its rotation', async () => {
    const files = createLogFiles(dir, 300)
    for (let i = 0; i < 10; i++)
      files.append('u', { time: t(i), level: 'info', msg: `m${i}`, pad: 'p'.repeat(50) })
    files.close()
    const msgs = (await readLogs(dir)).map((e) => e.record.msg)
    // Only two files are kept: the newest lines, in order, ending with the last one.
    expect(msgs.at(-1)).toBe('m9')
    expect(msgs).toEqual([...msgs].sort())
    expect(msgs.length).toBeGreaterThan(3)
  })
})

describe('followLogs', () => {
  it('yields the tail asked for, then new matching lines, also across a rotation and from new units', async () => {
    await writeFile(join(dir, 'u.log'), line({ time: t(1), level: 'warn', msg: 'old' }))
    const ac = new AbortController()
    const it = followLogs(dir, { last: 5, filter: { level: 'warn' }, intervalMs: 10, signal: ac.signal })
    const next = async () => (await it.next()).value?.record.msg
    expect(await next()).toBe('old')

    const pending = next() // the first poll runs after this: the appends below are new
    await appendFile(join(dir, 'u.log'), line({ time: t(2), level: 'info', msg: 'skipped' }))
    await appendFile(join(dir, 'u.log'), line({ time: t(3), level: 'error', msg: 'new' }))
    expect(await pending).toBe('new')

    // A line appended just before the file rotates is read from `.log.1`.
    await appendFile(join(dir, 'u.log'), line({ time: t(4), level: 'warn', msg: 'before rotation' }))
    await rename(join(dir, 'u.log'), join(dir, 'u.log.1'))
    await writeFile(join(dir, 'u.log'), line({ time: t(5), level: 'warn', msg: 'after rotation' }))
    await writeFile(join(dir, 'v.log'), line({ time: t(6), level: 'fatal', msg: 'new unit' }))
    const seen = [await next(), await next(), await next()]
    expect(seen).toEqual(['before rotation', 'after rotation', 'new unit'])

    ac.abort()
    expect((await it.next()).done).toBe(true)
  })

  it('holds back a line until its newline arrives', async () => {
    // `last: 1` yields the line already there once the follower has its place at the end,
    // so the halves below are surely appended after it looked.
    await writeFile(join(dir, 'u.log'), '{"msg":"before"}\n')
    const it = followLogs(dir, { intervalMs: 10, last: 1 })
    expect((await it.next()).value?.record.msg).toBe('before')
    const pending = it.next()
    await appendFile(join(dir, 'u.log'), '{"msg":"par')
    await appendFile(join(dir, 'u.log'), 'tial"}\n')
    expect((await pending).value?.record.msg).toBe('partial')
    await it.return(undefined)
  })
})
