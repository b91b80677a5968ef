import { startTestSystem } from 'tessera/testkit'
import { afterEach, describe, expect, it } from 'vitest'
import {
  hugeBody,
  json,
  redirectTo,
  startUpstream,
  trickle,
  type Upstream,
} from '../../../../test/support/hostile-upstream.ts'
import { startFakeQuotesApi } from '../../fake-quotes-api.ts'
import { rejectionOf } from '../../test/helpers.ts'
import { createQuotesService, type QuotesOptions, type QuotesService } from './service.ts'

const MiB = 1024 * 1024
// What the kernel and Node may buffer between the two ends on loopback before the
// client reads: the upstream can hand over that much even to a client that stops at once.
const SOCKET_SLACK = 8 * MiB

describe('quotes against a hostile upstream', () => {
  const closers: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const close of closers.splice(0)) await close()
  })
  const upstream = async (behaviour: Parameters<typeof startUpstream>[0]): Promise<Upstream> => {
    const u = await startUpstream(behaviour)
    closers.push(() => u.close())
    return u
  }
  let clock = 1_000_000
  const start = (apiUrl: string, options: QuotesOptions = {}) =>
    startTestSystem({
      services: [createQuotesService({ apiUrl, requestTimeoutMs: 5_000, now: () => clock, ...options })],
    })

  it('refuses a body that never ends once it passes the cap, without reading the rest', async () => {
    const api = await upstream(hugeBody({ totalBytes: 64 * MiB }))
    await using system = await start(api.url)
    const err = await rejectionOf(system.client<QuotesService>('quotes').get({ currency: 'EUR' }))
    expect(err).toMatchObject({ code: 'UNAVAILABLE', data: { reason: 'UNAVAILABLE' } })
    expect(err.data.detail).toMatch(/rates API.*larger than 65536 bytes/)
    await api.settled()
    expect(api.bytesSent).toBeLessThan(SOCKET_SLACK)
  })

  it('refuses a Content-Length over the cap before reading the body', async () => {
    const api = await upstream(hugeBody({ totalBytes: 64 * MiB, contentLength: 300 * MiB }))
    await using system = await start(api.url)
    const err = await rejectionOf(system.client<QuotesService>('quotes').get({ currency: 'EUR' }))
    expect(err).toMatchObject({ code: 'UNAVAILABLE' })
    expect(err.data.detail).toMatch(/Content-Length 314572800/)
    await api.settled()
    expect(api.bytesSent).toBeLessThan(SOCKET_SLACK)
  })

  it('cuts a body trickled slowly at the request timeout, headers and body under one deadline', async () => {
    const api = await upstream(trickle({ prefix: '{"currency":"EUR","rate":0.92,"asOf":"', everyMs: 20 }))
    await using system = await start(api.url, { requestTimeoutMs: 300 })
    const started = Date.now()
    const err = await rejectionOf(system.client<QuotesService>('quotes').get({ currency: 'EUR' }))
    expect(err).toMatchObject({ code: 'UNAVAILABLE', data: { reason: 'TIMEOUT' } })
    expect(err.data.detail).toMatch(/rates API did not answer within 300 ms/)
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('does not follow a redirect to another server', async () => {
    const elsewhere = await startFakeQuotesApi()
    closers.push(() => elsewhere.close())
    const api = await upstream(redirectTo(`${elsewhere.url}/rates/EUR`))
    await using system = await start(api.url)
    const err = await rejectionOf(system.client<QuotesService>('quotes').get({ currency: 'EUR' }))
    expect(err).toMatchObject({ code: 'UNAVAILABLE' })
    expect(err.data.detail).toMatch(/rates API answered 302 \(a redirect\)/)
    expect(api.requests).toBe(1)
    expect(elsewhere.requests).toBe(0)
  })

  it('refuses a 200 that is not JSON', async () => {
    const api = await upstream(json(200, { currency: 'EUR', rate: 0.92, asOf: 'now' }, 'text/html'))
    await using system = await start(api.url)
    const err = await rejectionOf(system.client<QuotesService>('quotes').get({ currency: 'EUR' }))
    expect(err).toMatchObject({ code: 'UNAVAILABLE' })
    expect(err.data.detail).toMatch(/content type text\/html/)
  })

  it('counts oversized answers against the API: the breaker opens', async () => {
    const api = await upstream(hugeBody({ totalBytes: 1 * MiB }))
    await using system = await start(api.url, { breaker: { failureThreshold: 2, openMs: 60_000 } })
    const quotes = system.client<QuotesService>('quotes')
    await rejectionOf(quotes.get({ currency: 'EUR' }))
    await rejectionOf(quotes.get({ currency: 'EUR' }))
    const open = await rejectionOf(quotes.get({ currency: 'EUR' }))
    expect(open).toMatchObject({ data: { reason: 'CIRCUIT_OPEN', breaker: 'open' } })
    expect(api.requests).toBe(2)
  })

  it('asks upstream once about an unknown currency within the negative TTL, then again after it', async () => {
    const api = await startFakeQuotesApi()
    closers.push(() => api.close())
    await using system = await start(api.url, { negativeTtlMs: 10_000 })
    const quotes = system.client<QuotesService>('quotes')
    for (let i = 0; i < 5; i++)
      expect((await rejectionOf(quotes.get({ currency: 'XXX' }))).code).toBe('NOT_FOUND')
    expect(api.requests).toBe(1)
    clock += 10_000
    expect((await rejectionOf(quotes.get({ currency: 'XXX' }))).code).toBe('NOT_FOUND')
    expect(api.requests).toBe(2)
  })
})
