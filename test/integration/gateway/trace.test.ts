import { describe, expect, it } from 'vitest'
import { faults, json, startGateway } from './fixtures.ts'

describe('gateway trace propagation', () => {
  it('passes traceparent and x-request-id on to the handler and echoes the request id', async () => {
    await using sys = await startGateway([faults])
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const res = await fetch(`${sys.url}/context`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, 'x-request-id': 'req-123' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-request-id')).toBe('req-123')
    expect(await json(res)).toEqual({ requestId: 'req-123', traceId, principal: null })
  })

  it('makes up a request id when none (or a hostile one) is given, and echoes it on errors too', async () => {
    await using sys = await startGateway([faults])
    const res = await fetch(`${sys.url}/context`, { headers: { 'x-request-id': 'bad id\twith spaces' } })
    const id = res.headers.get('x-request-id')
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect((await json(res)).requestId).toBe(id)
    const failed = await fetch(`${sys.url}/fail/NOT_FOUND`, { headers: { 'x-request-id': 'req-9' } })
    expect(failed.headers.get('x-request-id')).toBe('req-9')
  })
})
