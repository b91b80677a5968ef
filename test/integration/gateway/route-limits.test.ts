import { Type as T } from '@sinclair/typebox'
import { describe, expect, it } from 'vitest'
import { defineService } from '../../../src/contract/index.ts'
import { recordingLogger } from '../../../src/observability/testing/recording-logger.ts'
import { catalogService, createCounter, json, startGateway, token } from './fixtures.ts'

/** A service whose routes declare their own limits, beside the catalog's unlimited ones. */
function accountsService(calls: ReturnType<typeof createCounter>) {
  return defineService({
    name: 'accounts',
    actions: ({ action }) => ({
      signIn: action({
        input: T.Object({ user: T.String() }),
        output: T.Object({ ok: T.Boolean() }),
        http: { method: 'POST', path: '/sign-in', auth: 'public', rateLimit: { max: 2, windowMs: 60_000 } },
        handler: () => {
          calls.hit('signIn')
          return { ok: true }
        },
      }),
      profile: action({
        input: T.Object({}),
        output: T.Object({ id: T.String() }),
        http: { method: 'GET', path: '/profile', rateLimit: { max: 1, windowMs: 60_000 } },
        handler: (_input, ctx) => {
          calls.hit('profile')
          return { id: ctx.principal?.id ?? '' }
        },
      }),
    }),
  })
}

const signIn = (url: string) =>
  fetch(`${url}/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"user":"ada"}',
  })

describe('per-route rate limits', () => {
  it('answers 429 with Retry-After past a route’s own max, without calling, while other routes are served', async () => {
    const calls = createCounter()
    await using sys = await startGateway([accountsService(calls), catalogService(calls)])
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await signIn(sys.url)).status)
    expect(statuses).toEqual([200, 200, 429, 429])
    const limited = await signIn(sys.url)
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(59)
    expect((await json(limited)).error).toMatchObject({ code: 'RATE_LIMITED', data: { retryAfterSec: 60 } })
    expect(calls.of('signIn')).toBe(2)
    // The same client is still served on a route without a limit of its own.
    expect((await fetch(`${sys.url}/items/1`)).status).toBe(200)
  })

  it('counts an authenticated route per principal', async () => {
    const calls = createCounter()
    await using sys = await startGateway([accountsService(calls)])
    const get = async (sub: string) =>
      fetch(`${sys.url}/profile`, { headers: { authorization: `Bearer ${await token({}, { sub })}` } })
    expect((await get('ada')).status).toBe(200)
    expect((await get('grace')).status).toBe(200)
    expect((await get('ada')).status).toBe(429)
    expect(calls.of('profile')).toBe(2)
  })

  it('lists the limit in the OpenAPI document', async () => {
    await using sys = await startGateway([accountsService(createCounter())])
    const doc = await json(await fetch(`${sys.url}/openapi.json`))
    const op = doc.paths['/sign-in'].post
    expect(op['x-ratelimit']).toEqual({ max: 2, windowMs: 60_000, per: 'ip' })
    expect(op.responses['429'].description).toContain('2 requests per 60 s per client IP')
    expect(doc.paths['/profile'].get['x-ratelimit']).toEqual({ max: 1, windowMs: 60_000, per: 'principal' })
  })

  it('skips, with a warning, a route announced with a malformed limit', async () => {
    const log = recordingLogger()
    const bad = defineService({
      name: 'bad',
      actions: ({ action }) => ({
        open: action({
          input: T.Object({}),
          output: T.Object({}),
          http: { method: 'GET', path: '/open', auth: 'public' },
          handler: () => ({}),
        }),
      }),
    })
    // What a peer could announce: the types stop this at the definition, the wire does not.
    ;(bad.actions.open as { http: unknown }).http = {
      method: 'GET',
      path: '/open',
      auth: 'public',
      rateLimit: { max: 0, windowMs: 60_000 },
    }
    await using sys = await startGateway([bad], { logger: log.logger })
    expect((await fetch(`${sys.url}/open`)).status).toBe(404)
    expect(log.entries.map((e) => (e.obj as { reason?: string }).reason)).toContain(
      'rateLimit.max must be an integer from 1 to 1000000, got 0',
    )
  })
})
