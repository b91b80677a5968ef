import { describe, expect, it } from 'vitest'
import { catalogService, createCounter, json, startGateway, token } from './fixtures.ts'

describe('gateway routing', () => {
  it('routes a GET with a path parameter, coercing it to the schema type', async () => {
    await using sys = await startGateway([catalogService(createCounter())])
    const res = await fetch(`${sys.url}/items/42`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await json(res)).toEqual({ id: 42, kind: 'number' })
  })

  it('coerces query strings to integers, booleans and arrays as the input schema declares', async () => {
    await using sys = await startGateway([catalogService(createCounter())])
    const res = await fetch(`${sys.url}/items?limit=10&inStock=true&tags=a&tags=b&q=42`)
    expect(res.status).toBe(200)
    expect(await json(res)).toEqual({ limit: 10, inStock: true, tags: ['a', 'b'], q: '42' })
    const single = await fetch(`${sys.url}/items?tags=only`)
    expect(await json(single)).toMatchObject({ tags: ['only'] })
  })

  it('merges a JSON body with path parameters on a PUT', async () => {
    await using sys = await startGateway([catalogService(createCounter())])
    const res = await fetch(`${sys.url}/items/abc/name`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Lamp', id: 'ignored: the path wins' }),
    })
    expect(res.status).toBe(200)
    expect(await json(res)).toEqual({ id: 'abc', name: 'Lamp' })
  })

  it('routes an authenticated POST with a JSON body', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)])
    const res = await fetch(`${sys.url}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}` },
      body: JSON.stringify({ name: 'Lamp', price: 12.5 }),
    })
    expect(res.status).toBe(200)
    expect(await json(res)).toMatchObject({ name: 'Lamp', price: 12.5 })
    expect(calls.of('create')).toBe(1)
  })

  it('answers 204 when the action returns nothing', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)])
    const res = await fetch(`${sys.url}/items/abc`, { method: 'DELETE' })
    expect(res.status).toBe(204)
    expect(calls.of('remove')).toBe(1)
  })

  it('answers 404 for an unknown path and 405 with Allow for a wrong method', async () => {
    await using sys = await startGateway([catalogService(createCounter())])
    const unknown = await fetch(`${sys.url}/nothing/here`)
    expect(unknown.status).toBe(404)
    expect((await json(unknown)).error.code).toBe('NOT_FOUND')
    const wrong = await fetch(`${sys.url}/items/7`, { method: 'PATCH' })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('GET, DELETE')
  })

  it('never exposes an action without an http route', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)])
    for (const path of ['/secret', '/catalog/secret', '/catalog.secret']) {
      for (const method of ['GET', 'POST']) {
        expect((await fetch(`${sys.url}${path}`, { method })).status).toBe(404)
      }
    }
    expect(calls.of('secret')).toBe(0)
    expect(sys.gateway.routes().map((r) => `${r.method} ${r.path}`)).not.toContain('secret')
    expect(sys.gateway.routes().some((r) => r.action === 'secret')).toBe(false)
  })

  it('lists its routes with service, action and auth', async () => {
    await using sys = await startGateway([catalogService(createCounter())])
    expect(sys.gateway.routes()).toContainEqual({
      method: 'POST',
      path: '/items',
      service: 'catalog',
      action: 'create',
      auth: 'authenticated',
      idempotent: false,
    })
  })
})
