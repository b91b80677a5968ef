import { Type as T } from '@sinclair/typebox'
import { describe, expect, it } from 'vitest'
import { defineService } from './service.ts'

const withLimit = (rateLimit: { max: number; windowMs: number }) => () =>
  defineService({
    name: 'auth',
    actions: ({ action }) => ({
      login: action({
        input: T.Object({}),
        output: T.Object({}),
        http: { method: 'POST', path: '/login', auth: 'public', rateLimit },
        handler: () => ({}),
      }),
    }),
  })

describe('a route rate limit in defineService', () => {
  it('is kept on the action when it is within bounds', () => {
    expect(withLimit({ max: 10, windowMs: 60_000 })().actions.login.http?.rateLimit).toEqual({
      max: 10,
      windowMs: 60_000,
    })
  })

  it.each([
    [{ max: 0, windowMs: 60_000 }, 'rateLimit.max must be an integer from 1 to 1000000, got 0'],
    [{ max: 2.5, windowMs: 60_000 }, 'rateLimit.max must be an integer from 1 to 1000000, got 2.5'],
    [{ max: 10, windowMs: 500 }, 'rateLimit.windowMs must be an integer from 1000 to 86400000, got 500'],
    [
      { max: 10, windowMs: Number.NaN },
      'rateLimit.windowMs must be an integer from 1000 to 86400000, got NaN',
    ],
  ])('throws a TypeError naming the route and the field for %j', (limit, reason) => {
    expect(withLimit(limit)).toThrow(new TypeError(`route POST /login: ${reason}`))
  })
})
