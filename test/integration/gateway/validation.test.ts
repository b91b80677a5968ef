import { describe, expect, it } from 'vitest'
import { catalogService, createCounter, json, startGateway, token } from './fixtures.ts'

const jsonHeaders = { 'content-type': 'application/json' }

describe('gateway input checks', () => {
  it('answers 400 VALIDATION naming the failing field, and never calls the service', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)])
    const auth = { ...jsonHeaders, authorization: `Bearer ${await token()}` }
    const res = await fetch(`${sys.url}/items`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'Lamp', price: -1 }),
    })
    expect(res.status).toBe(400)
    const body = await json(res)
    expect(body.error.code).toBe('VALIDATION')
    expect(body.error.message).toContain('/price')
    expect(body.error.data.errors[0].path).toBe('/price')
    expect(body.error).not.toHaveProperty('stack')

    const missing = await fetch(`${sys.url}/items`, { method: 'POST', headers: auth, body: '{"price":1}' })
    expect(missing.status).toBe(400)
    expect((await json(missing)).error.data.errors[0].path).toBe('/name')
    expect(calls.of('create')).toBe(0)
  })

  it('rejects a query value that does not coerce, naming the field', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)])
    const res = await fetch(`${sys.url}/items?limit=ten`)
    expect(res.status).toBe(400)
    expect((await json(res)).error.data.errors).toEqual([{ path: '/limit', message: expect.any(String) }])
    const tooBig = await fetch(`${sys.url}/items?limit=1000`)
    expect(tooBig.status).toBe(400)
    const path = await fetch(`${sys.url}/items/1.5`)
    expect((await json(path)).error.data.errors[0].path).toBe('/id')
    expect(calls.of('list') + calls.of('get')).toBe(0)
  })

  it('answers 400 BAD_REQUEST to malformed JSON', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)])
    const res = await fetch(`${sys.url}/items/x/name`, {
      method: 'PUT',
      headers: jsonHeaders,
      body: '{"name": ',
    })
    expect(res.status).toBe(400)
    expect((await json(res)).error.code).toBe('BAD_REQUEST')
    expect(calls.of('rename')).toBe(0)
  })

  it('answers 413 PAYLOAD_TOO_LARGE to a body over the limit', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)], { bodyLimit: 1024 })
    const res = await fetch(`${sys.url}/items/x/name`, {
      method: 'PUT',
      headers: jsonHeaders,
      body: JSON.stringify({ name: 'x'.repeat(5000) }),
    })
    expect(res.status).toBe(413)
    expect((await json(res)).error.code).toBe('PAYLOAD_TOO_LARGE')
    expect(calls.of('rename')).toBe(0)
  })

  it('refuses bodies that are not JSON with 415', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)])
    const res = await fetch(`${sys.url}/items/x/name`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'name=x',
    })
    expect(res.status).toBe(415)
    expect((await json(res)).error.code).toBe('BAD_REQUEST')
    expect(calls.of('rename')).toBe(0)
  })

  it('rejects __proto__ in a body instead of merging it', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)])
    const res = await fetch(`${sys.url}/items/x/name`, {
      method: 'PUT',
      headers: jsonHeaders,
      body: '{"name":"a","__proto__":{"polluted":true}}',
    })
    expect(res.status).toBe(400)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(calls.of('rename')).toBe(0)
  })
})
