import { describe, expect, it } from 'vitest'
import { parseAnnouncedRoute } from './announced-route.ts'

describe('parseAnnouncedRoute', () => {
  it('accepts plain segments and whole-segment params, defaulting to authenticated', () => {
    expect(parseAnnouncedRoute({ method: 'GET', path: '/users/:id/orders/:orderId' })).toEqual({
      method: 'GET',
      path: '/users/:id/orders/:orderId',
      auth: 'authenticated',
      params: ['id', 'orderId'],
    })
    expect(parseAnnouncedRoute({ method: 'POST', path: '/', auth: 'public' })).toMatchObject({ params: [] })
  })

  it('keeps a well-formed rate limit, and only its two fields', () => {
    const http = { method: 'POST', path: '/login', rateLimit: { max: 10, windowMs: 60_000, extra: 1 } }
    expect(parseAnnouncedRoute(http)).toMatchObject({ rateLimit: { max: 10, windowMs: 60_000 } })
    expect((parseAnnouncedRoute(http) as { rateLimit: object }).rateLimit).not.toHaveProperty('extra')
  })

  it.each([
    [null, 'http is not an object'],
    [{ method: 'get', path: '/x' }, 'unsupported method "get"'],
    [{ method: 'GET', path: 'x' }, 'path must be a string starting with "/"'],
    [{ method: 'GET', path: `/${'a'.repeat(600)}` }, 'path must be a string starting with "/"'],
    [{ method: 'GET', path: '/x', auth: 'admin' }, 'unknown auth "admin"'],
    [{ method: 'GET', path: '/x/*' }, 'invalid path segment "*"'],
    [{ method: 'GET', path: '/x//y' }, 'invalid path segment ""'],
    [{ method: 'GET', path: '/:id(\\d+)' }, 'invalid path segment ":id(\\\\d+)"'],
    [{ method: 'GET', path: '/:a/:a' }, 'duplicate path parameter a'],
    [{ method: 'GET', path: '/a b' }, 'invalid path segment "a b"'],
    [{ method: 'GET', path: '/x', rateLimit: 10 }, 'rateLimit must be an object { max, windowMs }'],
    [
      { method: 'GET', path: '/x', rateLimit: { max: 1.5, windowMs: 60_000 } },
      'rateLimit.max must be an integer from 1 to 1000000, got 1.5',
    ],
    [
      { method: 'GET', path: '/x', rateLimit: { max: 10, windowMs: 10 } },
      'rateLimit.windowMs must be an integer from 1000 to 86400000, got 10',
    ],
    [
      { method: 'GET', path: '/x', rateLimit: { max: 10 } },
      'rateLimit.windowMs must be an integer from 1000 to 86400000, got undefined',
    ],
  ])('rejects %j', (http, reason) => {
    expect(parseAnnouncedRoute(http)).toBe(reason)
  })
})
