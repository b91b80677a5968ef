import { startTestSystem } from 'tessera/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type FakeQuotesApi, startFakeQuotesApi } from '../../fake-quotes-api.ts'
import { rejectionOf } from '../../test/helpers.ts'
import { createQuotesService, type QuotesOptions, type QuotesService } from './service.ts'

describe('quotes', () => {
  let api: FakeQuotesApi
  let clock = 1_000_000
  beforeEach(async () => {
    api = await startFakeQuotesApi({ slowMs: 2_000 })
    clock = 1_000_000
  })
  afterEach(() => api.close())

  const start = (options: QuotesOptions = {}) =>
    startTestSystem({
      services: [
        createQuotesService({ apiUrl: api.url, requestTimeoutMs: 200, now: () => clock, ...options }),
      ],
    })

  it('fetches a fresh quote, then serves it from the cache until the TTL passes', async () => {
    await using system = await start({ ttlMs: 30_000 })
    const quotes = system.client<QuotesService>('quotes')
    expect(await quotes.get({ currency: 'EUR' })).toMatchObject({ rate: 0.92, source: 'api', stale: false })
    expect(await quotes.get({ currency: 'EUR' })).toMatchObject({ rate: 0.92, source: 'cache', stale: false })
    expect(api.requests).toBe(1)
    clock += 30_000
    expect(await quotes.get({ currency: 'EUR' })).toMatchObject({ source: 'api' })
    expect(api.requests).toBe(2)
  })

  it('times out a slow API and serves the cached quote stale', async () => {
    await using system = await start({ ttlMs: 1_000 })
    const quotes = system.client<QuotesService>('quotes')
    await quotes.get({ currency: 'GBP' })
    clock += 5_000
    api.setMode('slow')
    const started = Date.now()
    const quote = await quotes.get({ currency: 'GBP' })
    expect(quote).toMatchObject({ rate: 0.79, source: 'cache', stale: true })
    expect(Date.now() - started).toBeLessThan(1_500)
  })

  it('answers UNAVAILABLE when the API times out and nothing is cached', async () => {
    await using system = await start()
    api.setMode('slow')
    const err = await rejectionOf(system.client<QuotesService>('quotes').get({ currency: 'JPY' }))
    expect(err).toMatchObject({ code: 'UNAVAILABLE', data: { reason: 'TIMEOUT' } })
  })

  it('opens the breaker after repeated failures, stops calling the API, and closes after a good trial', async () => {
    await using system = await start({ breaker: { failureThreshold: 3, openMs: 10_000 } })
    const quotes = system.client<QuotesService>('quotes')
    api.setMode('fail')
    for (let i = 0; i < 3; i++) {
      expect((await rejectionOf(quotes.get({ currency: 'CHF' }))).data).toMatchObject({
        reason: 'UNAVAILABLE',
      })
    }
    const calls = api.requests
    const open = await rejectionOf(quotes.get({ currency: 'CHF' }))
    expect(open).toMatchObject({ code: 'UNAVAILABLE', data: { reason: 'CIRCUIT_OPEN', breaker: 'open' } })
    expect(api.requests).toBe(calls)
    api.setMode('ok')
    clock += 10_000
    expect(await quotes.get({ currency: 'CHF' })).toMatchObject({ source: 'api', stale: false })
  })

  it('serves stale from the cache while the breaker is open', async () => {
    await using system = await start({ ttlMs: 1_000, breaker: { failureThreshold: 1, openMs: 60_000 } })
    const quotes = system.client<QuotesService>('quotes')
    await quotes.get({ currency: 'EUR' })
    clock += 2_000
    api.setMode('fail')
    expect(await quotes.get({ currency: 'EUR' })).toMatchObject({ stale: true })
    const calls = api.requests
    expect(await quotes.get({ currency: 'EUR' })).toMatchObject({ stale: true })
    expect(api.requests).toBe(calls)
  })

  it('passes an unknown currency through as NOT_FOUND without counting it against the API', async () => {
    await using system = await start({ breaker: { failureThreshold: 1, openMs: 60_000 } })
    const quotes = system.client<QuotesService>('quotes')
    expect((await rejectionOf(quotes.get({ currency: 'XXX' }))).code).toBe('NOT_FOUND')
    expect(await quotes.get({ currency: 'EUR' })).toMatchObject({ source: 'api' })
    const bad = await rejectionOf(quotes.get({ currency: 'eur' }))
    expect(bad).toMatchObject({ code: 'VALIDATION', data: { errors: [{ path: '/currency' }] } })
  })
})
