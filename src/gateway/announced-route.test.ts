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
  ])('rejects %j', (http, reason) => {
    expect(parseAnnouncedRoute(http)).toBe(reason)
  })
})
