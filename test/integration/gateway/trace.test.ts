import { describe, expect, it } from 'vitest'
import { recordingLogger } from '../../../src/observability/testing/recording-logger.ts'
import { catalogService, createCounter, faults, json, startGateway } from './fixtures.ts'

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

describe('gateway request logs', () => {
  it('name the request id and the trace id of a failed request, its path without the query', async () => {
    const { logger, entries } = recordingLogger()
    await using sys = await startGateway([faults], { logger })
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const res = await fetch(`${sys.url}/boom?token=s3cret`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, 'x-request-id': 'req-5' },
    })
    expect(res.status).toBe(500)
    const failed = entries.find((e) => e.msg === 'request failed')
    expect(failed?.obj).toMatchObject({ requestId: 'req-5', traceId, path: '/boom' })
    expect(JSON.stringify(entries)).not.toContain('s3cret')
  })

  it('name the ids of a refused request, the trace id the gateway made when the client sent none', async () => {
    const { logger, entries } = recordingLogger()
    await using sys = await startGateway([catalogService(createCounter())], { logger })
    const res = await fetch(`${sys.url}/items`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(401)
    const refused = entries.find((e) => e.msg === 'request refused')
    expect(refused?.obj).toMatchObject({
      requestId: res.headers.get('x-request-id'),
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      path: '/items',
    })
  })

  it('start a trace of its own for each request that comes without one', async () => {
    await using sys = await startGateway([faults])
    const first = await json(await fetch(`${sys.url}/context`))
    const second = await json(await fetch(`${sys.url}/context`))
    expect(first.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(first.traceId).not.toBe(second.traceId)
  })
})
