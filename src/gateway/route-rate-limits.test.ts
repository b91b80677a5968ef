import { describe, expect, it } from 'vitest'
import { createRouteRateLimits } from './route-rate-limits.ts'

const login = {
  service: 'auth',
  action: 'login',
  auth: 'public' as const,
  rateLimit: { max: 2, windowMs: 10_000 },
}
const from = (ip: string) => ({ ip, principal: undefined })

describe('createRouteRateLimits', () => {
  it('allows max requests per window per IP on a public route, then RATE_LIMITED with the wait', () => {
    let now = 0
    const limits = createRouteRateLimits(() => now)
    limits.take(login, from('10.0.0.1'))
    limits.take(login, from('10.0.0.1'))
    limits.take(login, from('10.0.0.2'))
    now = 2_500
    expect(() => limits.take(login, from('10.0.0.1'))).toThrow(
      expect.objectContaining({ code: 'RATE_LIMITED', data: { retryAfterSec: 8 } }),
    )
    now = 10_000
    expect(() => limits.take(login, from('10.0.0.1'))).not.toThrow()
  })

  it('counts each route on its own, and not at all without a limit', () => {
    const limits = createRouteRateLimits(() => 0)
    const register = { ...login, action: 'register' }
    const open = { service: 'auth', action: 'refresh', auth: 'public' as const }
    for (let i = 0; i < 2; i++) limits.take(login, from('ip'))
    expect(() => limits.take(login, from('ip'))).toThrow()
    expect(() => limits.take(register, from('ip'))).not.toThrow()
    for (let i = 0; i < 100; i++) limits.take(open, from('ip'))
  })

  it('counts an authenticated route per principal, and starts afresh when the limit changes', () => {
    const limits = createRouteRateLimits(() => 0)
    const me = {
      service: 'users',
      action: 'me',
      auth: 'authenticated' as const,
      rateLimit: { max: 1, windowMs: 1_000 },
    }
    limits.take(me, { ip: 'same', principal: { id: 'ada' } })
    limits.take(me, { ip: 'same', principal: { id: 'grace' } })
    expect(() => limits.take(me, { ip: 'other', principal: { id: 'ada' } })).toThrow()
    limits.take({ ...me, rateLimit: { max: 5, windowMs: 1_000 } }, { ip: 'other', principal: { id: 'ada' } })
  })
})
