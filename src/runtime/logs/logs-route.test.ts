import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { logsRoute } from './logs-route.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-logs-route-'))
  const rec = (o: Record<string, unknown>) => `${JSON.stringify(o)}\n`
  await writeFile(
    join(dir, 'users.log'),
    rec({ time: '2025-03-01T10:00:01Z', level: 'info', unit: 'users', msg: 'a', requestId: 'r1' }) +
      rec({ time: '2025-03-01T10:00:03Z', level: 'error', unit: 'users', msg: 'c', traceId: 't1' }),
  )
  await writeFile(join(dir, 'orders.log'), rec({ time: '2025-03-01T10:00:02Z', level: 'warn', msg: 'b' }))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const get = (q: string) => logsRoute(dir, new URLSearchParams(q))
const msgs = (body: unknown) => (body as { records: { msg: string }[] }).records.map((r) => r.msg)

describe('GET /logs', () => {
  it('answers the matching records of every unit, oldest first, each with its unit', async () => {
    const all = await get('')
    expect(all.status).toBe(200)
    expect(msgs(all.body)).toEqual(['a', 'b', 'c'])
    expect((all.body as { records: { unit: string }[] }).records.map((r) => r.unit)).toEqual([
      'users',
      'orders',
      'users',
    ])
    expect(msgs((await get('level=warn')).body)).toEqual(['b', 'c'])
    expect(msgs((await get('unit=users&requestId=r1')).body)).toEqual(['a'])
    expect(msgs((await get('traceId=t1')).body)).toEqual(['c'])
    expect(msgs((await get('unit=users,orders&limit=2')).body)).toEqual(['b', 'c'])
  })

  it('answers 400 for a bad level or limit and 404 for a unit without logs', async () => {
    expect(await get('level=loud')).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } })
    expect(await get('limit=0')).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } })
    expect(await get('since=soon')).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } })
    expect(await get('unit=nope')).toMatchObject({
      status: 404,
      body: { code: 'NOT_FOUND', data: { units: ['orders', 'users'] } },
    })
  })
})
