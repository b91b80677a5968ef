import { describe, expect, it } from 'vitest'
import { catalogService, createCounter, json, startGateway, token } from './fixtures.ts'

describe('gateway limits and CORS', () => {
  it('answers 429 with Retry-After past the per-client limit, without calling', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)], { rateLimit: { max: 3, windowMs: 60_000 } })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${sys.url}/items/1`)).status)
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    const limited = await fetch(`${sys.url}/items/1`)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await json(limited)).error.code).toBe('RATE_LIMITED')
    expect(calls.of('get')).toBe(3)
    // Health checks do not count.
    expect((await fetch(`${sys.url}/healthz`)).status).toBe(200)
  })

  it('counts authenticated clients per principal', async () => {
    await using sys = await startGateway([catalogService(createCounter())], {
      rateLimit: { max: 1, windowMs: 60_000 },
    })
    const post = async (sub: string) =>
      fetch(`${sys.url}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token({}, { sub })}` },
        body: '{"name":"a","price":1}',
      })
    expect((await post('ada')).status).toBe(200)
    expect((await post('grace')).status).toBe(200)
    expect((await post('ada')).status).toBe(429)
  })

  it('answers a CORS preflight for an allowed origin and not for others', async () => {
    await using sys = await startGateway([catalogService(createCounter())], {
      cors: { origins: ['https://shop.example'] },
    })
    const preflight = await fetch(`${sys.url}/items`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST')
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization')

    const get = await fetch(`${sys.url}/items/1`, { headers: { origin: 'https://shop.example' } })
    expect(get.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    expect(get.headers.get('access-control-expose-headers')).toContain('x-request-id')

    const other = await fetch(`${sys.url}/items/1`, { headers: { origin: 'https://evil.example' } })
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })
})
