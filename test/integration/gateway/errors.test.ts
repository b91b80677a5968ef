import { describe, expect, it } from 'vitest'
import { faults, json, slowAborted, startGateway } from './fixtures.ts'

describe('gateway error mapping', () => {
  it.each([
    ['NOT_FOUND', 404],
    ['CONFLICT', 409],
    ['FORBIDDEN', 403],
    ['UNAVAILABLE', 503],
    ['OVERLOADED', 503],
    ['TIMEOUT', 504],
  ])('answers %s with %i and the error code, message and data', async (code, status) => {
    await using sys = await startGateway([faults])
    const res = await fetch(`${sys.url}/fail/${code}`)
    expect(res.status).toBe(status)
    const body = await json(res)
    expect(body).toEqual({ error: { code, message: expect.stringContaining(code), data: { code } } })
  })

  it('answers INTERNAL with 500 and a generic message, leaking nothing', async () => {
    await using sys = await startGateway([faults])
    for (const path of ['/fail/INTERNAL', '/boom']) {
      const res = await fetch(`${sys.url}${path}`)
      expect(res.status).toBe(500)
      const text = await res.text()
      expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } })
      expect(text).not.toContain('hunter2')
    }
  })

  it('answers 504 when the call outlives the gateway deadline, and aborts the handler', async () => {
    await using sys = await startGateway([faults], { timeoutMs: 100 })
    const before = slowAborted.count
    const res = await fetch(`${sys.url}/slow?ms=2000`)
    expect(res.status).toBe(504)
    expect((await json(res)).error.code).toBe('TIMEOUT')
    await expect.poll(() => slowAborted.count).toBe(before + 1)
  })

  it('aborts the call when the client disconnects', async () => {
    await using sys = await startGateway([faults])
    const before = slowAborted.count
    const client = new AbortController()
    const pending = fetch(`${sys.url}/slow?ms=5000`, { signal: client.signal })
    await new Promise((r) => setTimeout(r, 100))
    client.abort()
    await expect(pending).rejects.toThrow()
    await expect.poll(() => slowAborted.count, { timeout: 2000 }).toBe(before + 1)
  })
})
