import { execFile, spawn } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LogRecord, readLogs, startControlServer } from '../../../src/runtime/index.ts'
import { type Running, runSystem } from './support.ts'

// issue 10, logs: a handler logs with ctx.log under the runtime; the unit's file holds
// JSON lines with service, instance, request and trace ids, secrets redacted; the real
// CLI filters them by request id and level, across a rotated file, and follows.
const bin = fileURLToPath(new URL('../../../bin/tessera.mjs', import.meta.url))
const SECRETS = ['hunter2', 'tok-123']
let sys: Running
let first: { requestId: string; traceId: string }
let second: { requestId: string; traceId: string }

const chatty = () => sys.client.client<typeof import('./fixtures/chatty.ts').default>('chatty')
const logsDir = () => sys.sup.logsDir
const linesOf = async (requestId: string) =>
  (await readLogs(logsDir(), { units: ['chatty'], filter: { requestId } })).map((e) => e.record)

async function tessera(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [bin, ...args, '--state-dir', sys.sup.stateDir],
      { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
    )
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

beforeAll(async () => {
  sys = await runSystem({ name: 'logtest', services: { chatty: { entry: './chatty.ts' } } })
  first = await chatty().note(
    { text: 'first', password: 'hunter2', token: 'tok-123' },
    { requestId: 'req-first' },
  )
  await eventually(async () => (await linesOf('req-first')).length === 2, 'the first request’s lines filed')
  // About 5.5 MiB of lines: the log rotates, the first request's lines move to chatty.log.1.
  await chatty().flood({ lines: 5_600, bytes: 1_000 })
  await eventually(
    async () => (await readLogs(logsDir(), { units: ['chatty'], limit: 1 }))[0]?.record.msg === 'flood done',
    'the flood filed',
  )
  second = await chatty().note(
    { text: 'second', password: 'hunter2', token: 'tok-123' },
    { requestId: 'req-second' },
  )
  await eventually(async () => (await linesOf('req-second')).length === 2, 'the second request’s lines filed')
}, 90_000)

afterAll(async () => {
  await sys?.[Symbol.asyncDispose]()
}, 30_000)

/** Polls until `check` holds (bounded): lines reach the file through a pipe and the supervisor. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 30_000
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('logs under the runtime', () => {
  it('files JSON lines with service, unit, instance, node, request id and trace id', async () => {
    const records = await linesOf('req-first')
    expect(records.map((r) => [r.level, r.msg])).toEqual([
      ['info', 'noted first'],
      ['warn', 'noted with a warning'],
    ])
    for (const r of records) {
      expect(r).toMatchObject({
        service: 'chatty',
        unit: 'chatty',
        instance: 'chatty#1',
        node: expect.stringContaining('logtest-chatty-'),
        requestId: 'req-first',
        traceId: first.traceId,
      })
      expect(new Date(r.time as string).toISOString()).toBe(r.time)
    }
    expect(first.requestId).toBe('req-first')
    expect(second.traceId).not.toBe(first.traceId)
  })

  it('redacts the password and token a handler logged, in the file itself', async () => {
    const [info] = await linesOf('req-first')
    expect(info).toMatchObject({ user: { name: 'ada', password: '[Redacted]' }, token: '[Redacted]' })
    const files = [join(logsDir(), 'chatty.log'), join(logsDir(), 'chatty.log.1')]
    for (const file of files) {
      const text = await readFile(file, 'utf8')
      for (const secret of SECRETS) expect(text).not.toContain(secret)
    }
  })

  it('keeps every line JSON: the supervisor’s events and a raw stderr line wrapped', async () => {
    const all = await readLogs(logsDir(), { units: ['chatty'] })
    for (const e of all) expect(() => JSON.parse(e.line) as LogRecord).not.toThrow()
    expect(all.find((e) => e.record.msg === 'raw stderr line for first')?.record).toMatchObject({
      level: 'error',
      stream: 'stderr',
      instance: 'chatty#1',
      unit: 'chatty',
    })
    expect(all.find((e) => e.record.instance === 'supervisor')?.record).toMatchObject({
      unit: 'chatty',
      event: { type: expect.any(String) },
    })
  })

  it('rotated the log: the first request is in chatty.log.1, the second in chatty.log', async () => {
    expect((await stat(join(logsDir(), 'chatty.log.1'))).size).toBeGreaterThan(5 * 1024 * 1024)
    expect(await readFile(join(logsDir(), 'chatty.log.1'), 'utf8')).toContain('"requestId":"req-first"')
    expect(await readFile(join(logsDir(), 'chatty.log'), 'utf8')).toContain('"requestId":"req-second"')
  })

  it('tessera logs --request-id prints only that request’s lines, from the rotated file', async () => {
    const pretty = await tessera('logs', 'chatty', '--request-id', 'req-first')
    expect(pretty.code).toBe(0)
    const lines = pretty.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} chatty#1 INFO {2}noted first requestId=req-first traceId=/,
    )
    expect(lines[1]).toMatch(/ chatty#1 WARN {2}noted with a warning requestId=req-first /)

    const raw = await tessera('logs', '--json', '--request-id', 'req-first')
    const records = raw.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as LogRecord)
    expect(records.map((r) => r.requestId)).toEqual(['req-first', 'req-first'])
    expect(records.every((r) => r.traceId === first.traceId)).toBe(true)

    const byTrace = await tessera('logs', '--json', '--trace-id', second.traceId)
    expect(
      byTrace.stdout
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as LogRecord).requestId),
    ).toEqual(['req-second', 'req-second'])
  })

  it('tessera logs --level warn prints warn and above only, over every unit and both files', async () => {
    const { code, stdout } = await tessera('logs', '--level', 'warn', '--json')
    expect(code).toBe(0)
    const records = stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as LogRecord)
    expect(new Set(records.map((r) => r.level))).toEqual(new Set(['warn', 'error']))
    const warned = records.filter((r) => r.msg === 'noted with a warning').map((r) => r.requestId)
    expect(warned).toEqual(['req-first', 'req-second'])
    expect(records.some((r) => r.msg === 'flood')).toBe(false)
  })

  it('refuses bad flags and unknown units with a clear message', async () => {
    const level = await tessera('logs', '--level', 'loud')
    expect(level.code).not.toBe(0)
    expect(level.stderr).toMatch(
      /--level <min>.*loud.*level must be one of trace, debug, info, warn, error, fatal/,
    )
    const since = await tessera('logs', '--since', 'yesterday')
    expect(since.stderr).toMatch(/since must be a duration such as 30s/)
    const unit = await tessera('logs', 'nope')
    expect(unit.code).toBe(1)
    expect(unit.stderr).toMatch(/no logs for nope \(units with logs: chatty\)/)
  })

  it('tessera logs -f follows new lines with the filters applied', async () => {
    const child = spawn(
      process.execPath,
      [bin, 'logs', '-f', '--request-id', 'req-third', '--state-dir', sys.sup.stateDir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    try {
      let out = ''
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString()
      })
      // The follower prints nothing of the past (no line has this id); then the call's lines arrive.
      await chatty().note(
        { text: 'third', password: 'hunter2', token: 'tok-123' },
        { requestId: 'req-third' },
      )
      await eventually(async () => out.split('\n').filter(Boolean).length >= 2, 'the followed lines')
      const lines = out.trimEnd().split('\n')
      expect(lines).toHaveLength(2)
      expect(lines.every((l) => l.includes('requestId=req-third'))).toBe(true)
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('answers GET /logs on the control API with the filtered records as JSON', async () => {
    await using control = await startControlServer({ supervisor: sys.sup })
    const get = (q: string) =>
      fetch(`http://127.0.0.1:${control.port}/logs?${q}`, {
        headers: { authorization: `Bearer ${control.token}` },
      })
    const res = await get('unit=chatty&requestId=req-first&level=warn')
    expect(res.status).toBe(200)
    const body = (await res.json()) as { records: LogRecord[] }
    expect(body.records.map((r) => [r.unit, r.msg, r.traceId])).toEqual([
      ['chatty', 'noted with a warning', first.traceId],
    ])
    expect(((await (await get('limit=3')).json()) as { records: unknown[] }).records).toHaveLength(3)
    expect((await get('level=loud')).status).toBe(400)
    expect((await fetch(`http://127.0.0.1:${control.port}/logs`)).status).toBe(401)
  })
})
