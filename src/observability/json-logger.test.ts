import { describe, expect, it } from 'vitest'
import { jsonLogger } from './json-logger.ts'

function capture(level?: 'debug') {
  const lines: string[] = []
  const log = jsonLogger({
    bindings: { service: 'users', unit: 'users', node: 'n1' },
    destination: { write: (line: string) => lines.push(line) },
    ...(level ? { level } : {}),
  })
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  return { log, lines, records }
}

describe('jsonLogger', () => {
  it('writes one JSON object per line with level name, ISO time, bindings, fields and msg', () => {
    const { log, lines, records } = capture()
    log.child({ requestId: 'r1', traceId: 't1' }).info({ user: '7' }, 'created')
    expect(lines).toHaveLength(1)
    expect(lines[0]!.endsWith('}\n')).toBe(true)
    const [rec] = records()
    expect(rec).toMatchObject({
      level: 'info',
      service: 'users',
      unit: 'users',
      node: 'n1',
      requestId: 'r1',
      traceId: 't1',
      user: '7',
      msg: 'created',
    })
    expect(new Date(rec!.time as string).toISOString()).toBe(rec!.time)
  })

  it('drops debug unless asked for it', () => {
    const quiet = capture()
    quiet.log.debug({}, 'x')
    expect(quiet.lines).toHaveLength(0)
    const chatty = capture('debug')
    chatty.log.debug({}, 'x')
    expect(chatty.records()[0]).toMatchObject({ level: 'debug', msg: 'x' })
  })

  it('redacts secrets at the top, one and two levels down, and keeps the rest', () => {
    const { log, lines, records } = capture()
    log.info(
      {
        password: 'hunter2',
        token: 'tok-1',
        accessToken: 'at',
        refreshToken: 'rt',
        authorization: 'Bearer abc',
        cookie: 'sid=1',
        secret: 's',
        credential: 'c',
        privateKey: 'pk',
        user: { id: '7', password: 'hunter3', apiKey: 'k' },
        req: { headers: { authorization: 'Bearer def', 'set-cookie': 'sid=2', accept: 'json' } },
      },
      'login',
    )
    const text = lines.join('')
    for (const secret of ['hunter2', 'hunter3', 'tok-1', 'Bearer', 'sid=', 'pk"', '"k"'])
      expect(text).not.toContain(secret)
    const [rec] = records()
    expect(rec).toMatchObject({
      password: '[Redacted]',
      token: '[Redacted]',
      accessToken: '[Redacted]',
      refreshToken: '[Redacted]',
      authorization: '[Redacted]',
      cookie: '[Redacted]',
      secret: '[Redacted]',
      credential: '[Redacted]',
      privateKey: '[Redacted]',
      user: { id: '7', password: '[Redacted]', apiKey: '[Redacted]' },
      req: { headers: { authorization: '[Redacted]', 'set-cookie': '[Redacted]', accept: 'json' } },
    })
  })

  it('redacts the runtime environment and transport credentials when a handler logs them', () => {
    const { log, lines } = capture()
    log.info(
      {
        env: { TESSERA_INSTANCE: '{"transport":{"credentials":{"pass":"p4ss"}}}', HOME: '/root' },
        transport: { credentials: { user: 'u', pass: 'p4ss' } },
      },
      'config',
    )
    expect(lines.join('')).not.toContain('p4ss')
    expect(lines.join('')).toContain('/root')
  })

  it('redacts in arrays, four levels down and in child bindings, and leaves the caller’s objects alone', () => {
    const { log, lines, records } = capture()
    const fields = {
      users: [{ id: '1', password: 'p-arr' }],
      a: { b: { c: { token: 't-deep' } } },
      at: new Date(0),
    }
    log.child({ session: { cookie: 'c-bound' } }).info(fields, 'deep')
    const text = lines.join('')
    for (const secret of ['p-arr', 't-deep', 'c-bound']) expect(text).not.toContain(secret)
    expect(records()[0]).toMatchObject({
      users: [{ id: '1', password: '[Redacted]' }],
      a: { b: { c: { token: '[Redacted]' } } },
      session: { cookie: '[Redacted]' },
      at: '1970-01-01T00:00:00.000Z',
    })
    expect(fields.users[0]!.password).toBe('p-arr')
    expect(fields.a.b.c.token).toBe('t-deep')
  })

  it('redacts secrets an error carries in its own properties', () => {
    const { log, records } = capture()
    const err = Object.assign(new Error('refused'), { data: { token: 'tok-2' } })
    log.error({ err }, 'failed')
    expect(records()[0]).toMatchObject({
      err: { type: 'Error', message: 'refused', data: { token: '[Redacted]' } },
    })
    expect((records()[0]!.err as { stack: string }).stack).toMatch(/^Error: refused\n/)
    expect(err.data.token).toBe('tok-2')
  })
})
