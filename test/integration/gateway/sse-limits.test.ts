/**
 * Issue 9, finding 4: one user could open 1,000 event streams and lock everyone else
 * out, a stream outlived its token's logout and expiry, and the token travelled in the URL.
 */
import { Type as T } from '@sinclair/typebox'
import { describe, expect, it } from 'vitest'
import { defineService } from '../../../src/contract/index.ts'
import { recordingLogger } from '../../../src/observability/testing/recording-logger.ts'
import { openStream, within } from './event-stream.ts'
import { AUDIENCE, ISSUER, orders, SECRET, startGateway, token } from './fixtures.ts'

/** Stands in for an auth service: `POST /logout` emits `session.revoked` with the jti it is given. */
const sessions = defineService({
  name: 'sessions',
  events: { 'session.revoked': T.Object({ userId: T.String(), jti: T.String() }) },
  actions: ({ action }) => ({
    logout: action({
      input: T.Object({ userId: T.String(), jti: T.String() }),
      output: T.Object({ ok: T.Boolean() }),
      http: { method: 'POST', path: '/logout', auth: 'public' },
      handler: async (input, ctx) => {
        await ctx.emit('session.revoked', input)
        return { ok: true }
      },
    }),
  }),
})

const post = (url: string, path: string, body: unknown) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

const bearer = async (sub: string, claims: Record<string, unknown> = {}, expiresIn?: number) => ({
  authorization: `Bearer ${await token(claims, expiresIn === undefined ? { sub } : { sub, expiresIn })}`,
})

describe('event stream limits', () => {
  it('caps one user at a few streams with 429 while another user still gets a stream', async () => {
    const { logger, entries } = recordingLogger()
    await using sys = await startGateway([orders], { sse: { events: ['order.placed'] }, logger })
    const ada = await bearer('ada')
    const open: Awaited<ReturnType<typeof openStream>>[] = []
    const statuses = new Map<number, number>()
    try {
      // 1,000 attempts in batches of 100, as the attacker did.
      for (let batch = 0; batch < 10; batch++) {
        const streams = await Promise.all(Array.from({ length: 100 }, () => openStream(sys.url, ada)))
        for (const s of streams) {
          statuses.set(s.status, (statuses.get(s.status) ?? 0) + 1)
          if (s.status === 200) open.push(s)
        }
      }
      expect(Object.fromEntries(statuses)).toEqual({ 200: 5, 429: 995 })
      const refused = await openStream(sys.url, ada)
      expect(refused.status).toBe(429)
      expect(refused.error.error.code).toBe('RATE_LIMITED')
      expect(refused.error.error.data.retryAfterSec).toBeGreaterThan(0)
      expect(Number(refused.headers.get('retry-after'))).toBe(refused.error.error.data.retryAfterSec)

      const grace = await openStream(sys.url, await bearer('grace'))
      open.push(grace)
      expect(grace.status).toBe(200)
      // A slot frees when one of Ada's streams closes.
      open.shift()!.close()
      await expect
        .poll(async () => {
          const s = await openStream(sys.url, ada)
          if (s.status === 200) open.push(s)
          return s.status
        })
        .toBe(200)
      expect(
        entries.some(
          (e) => e.msg === 'event stream refused' && (e.obj as any).reason === 'per-principal cap',
        ),
      ).toBe(true)
    } finally {
      for (const s of open) s.close()
    }
  }, 30_000)

  it('ends a stream soon after its token is logged out, with an event saying why', async () => {
    await using sys = await startGateway([orders, sessions], {
      sse: { events: ['order.placed'], revocationEvent: 'session.revoked' },
    })
    const loggedOut = await openStream(sys.url, await bearer('ada', { jti: 'jti-1' }))
    const other = await openStream(sys.url, await bearer('ada', { jti: 'jti-2' }))
    try {
      expect(loggedOut.status).toBe(200)
      expect((await post(sys.url, '/logout', { userId: 'ada', jti: 'jti-1' })).status).toBe(200)
      expect(await within(loggedOut.ended, 5_000)).toBe(true)
      expect(loggedOut.events.at(-1)).toEqual({ event: 'stream.closed', data: { reason: 'revoked' } })
      // The stream of another token of the same user is untouched and still receives.
      await post(sys.url, '/orders', { orderId: 'o1', userId: 'ada' })
      expect((await other.next('order.placed')).data).toEqual({ orderId: 'o1', userId: 'ada' })
    } finally {
      loggedOut.close()
      other.close()
    }
  })

  it('does not count streams whose client left while its token was being checked', async () => {
    await using sys = await startGateway([orders], {
      auth: {
        jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE },
        isRevoked: () => new Promise((resolve) => setTimeout(() => resolve(false), 300)),
      },
      sse: { events: ['order.placed'] },
    })
    const ada = await bearer('ada')
    const gone = Array.from({ length: 10 }, async () => {
      const abort = new AbortController()
      setTimeout(() => abort.abort(), 50)
      await fetch(`${sys.url}/events`, { headers: ada, signal: abort.signal }).catch(() => undefined)
    })
    await Promise.all(gone)
    await new Promise((r) => setTimeout(r, 500)) // the checks finish after their clients left
    const stream = await openStream(sys.url, ada)
    stream.close()
    expect(stream.status).toBe(200)
  })

  it('ends a logged-out stream at the next re-check when the revocation event never came', async () => {
    const revoked = new Set<string>()
    await using sys = await startGateway([orders], {
      auth: {
        jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE },
        isRevoked: (claims) => revoked.has(String(claims.jti)),
      },
      sse: { events: ['order.placed'], recheckMs: 200 },
    })
    const stream = await openStream(sys.url, await bearer('ada', { jti: 'jti-1' }))
    try {
      expect(stream.status).toBe(200)
      revoked.add('jti-1')
      expect(await within(stream.ended, 5_000)).toBe(true)
      expect(stream.events.at(-1)).toEqual({ event: 'stream.closed', data: { reason: 'revoked' } })
    } finally {
      stream.close()
    }
  })

  it('ends a stream when its token expires, with an event saying why', async () => {
    await using sys = await startGateway([orders], { sse: { events: ['order.placed'] } })
    const exp = Math.floor(Date.now() / 1000) + 2
    const stream = await openStream(sys.url, await bearer('ada', {}, exp))
    try {
      expect(stream.status).toBe(200)
      await post(sys.url, '/orders', { orderId: 'o1', userId: 'ada' })
      await stream.next('order.placed')
      expect(await within(stream.ended, 8_000)).toBe(true)
      expect(stream.events.at(-1)).toEqual({ event: 'stream.closed', data: { reason: 'expired' } })
    } finally {
      stream.close()
    }
  })

  it('refuses a token in the URL with 400, and never logs it', async () => {
    const { logger, text } = recordingLogger()
    await using sys = await startGateway([orders], { sse: { events: ['order.placed'] }, logger })
    const jwt = await token({}, { sub: 'ada' })
    const res = await fetch(`${sys.url}/events?token=${jwt}`)
    const body = await res.text()
    expect(res.status).toBe(400)
    expect(JSON.parse(body).error).toMatchObject({ code: 'BAD_REQUEST' })
    expect(JSON.parse(body).error.message).toMatch(/Authorization header/)
    expect(body).not.toContain(jwt)
    expect(text()).toContain('token-in-url')
    expect(text()).not.toContain(jwt)
    // The header is the way in.
    const stream = await openStream(sys.url, { authorization: `Bearer ${jwt}` })
    stream.close()
    expect(stream.status).toBe(200)
  })
})
