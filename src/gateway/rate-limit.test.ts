import { describe, expect, it } from 'vitest'
import { createRateLimiter } from './rate-limit.ts'

describe('createRateLimiter', () => {
  it('allows max requests per window per client, then throws RATE_LIMITED with the wait', () => {
    let now = 1_000
    const limiter = createRateLimiter({ max: 2, windowMs: 10_000 }, () => now)
    const a = { ip: '10.0.0.1', headers: {}, principal: undefined }
    const b = { ip: '10.0.0.2', headers: {}, principal: undefined }
    limiter.take(a)
    limiter.take(a)
    limiter.take(b)
    now += 2_500
    expect(() => limiter.take(a)).toThrow(
      expect.objectContaining({ code: 'RATE_LIMITED', data: { retryAfterSec: 8 } }),
    )
    now += 7_500
    expect(() => limiter.take(a)).not.toThrow()
    limiter.close()
  })

  it('keys on the principal when there is one, or on a custom key', () => {
    const limiter = createRateLimiter({ max: 1, windowMs: 1_000 })
    limiter.take({ ip: '1', headers: {}, principal: { id: 'ada' } })
    limiter.take({ ip: '1', headers: {}, principal: { id: 'grace' } })
    expect(() => limiter.take({ ip: '2', headers: {}, principal: { id: 'ada' } })).toThrow()
    limiter.close()
    const byTenant = createRateLimiter({ max: 1, windowMs: 1_000, key: (r) => String(r.headers['x-tenant']) })
    byTenant.take({ ip: '1', headers: { 'x-tenant': 't1' }, principal: undefined })
    expect(() => byTenant.take({ ip: '2', headers: { 'x-tenant': 't1' }, principal: undefined })).toThrow()
    byTenant.close()
  })
})
