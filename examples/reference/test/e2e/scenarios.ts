/**
 * What a client of the reference system sees over HTTP, as test bodies that run against
 * any running system (SQLite or PostgreSQL underneath): each file starts one system and
 * declares the scenarios it wants.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { expect } from 'vitest'
import { type E2eSystem, eventually, http, openEvents, register, signToken } from './harness.ts'

type System = () => E2eSystem

/** The HS256 secret that was in services/auth/tokens.ts (and so public) until access tokens became EdDSA. */
const OLD_DEV_SECRET = 'tessera-dev-secret-do-not-use-in-production-0123456789'

const stockOf = async (base: string, id: string): Promise<number> => {
  const res = await http(base, 'GET', `/products/${id}`)
  expect(res.status).toBe(200)
  return res.body.stock
}

const ordersOf = async (base: string, token: string): Promise<{ id: string }[]> => {
  const res = await http(base, 'GET', '/orders', { token })
  expect(res.status).toBe(200)
  return res.body.items
}

/** Register, log in, browse, order (retried with its key), and the notification live and in the inbox. */
export async function mainFlow(system: System): Promise<void> {
  const { url } = system()
  const ada = await register(url, 'Ada')
  const login = await http(url, 'POST', '/auth/login', { body: { email: ada.email, password: ada.password } })
  expect(login.status).toBe(200)
  expect(login.body).toMatchObject({ userId: ada.userId, tokenType: 'Bearer' })
  const token: string = login.body.accessToken

  const me = await http(url, 'GET', '/me', { token })
  expect(me.body).toMatchObject({ id: ada.userId, email: ada.email, name: 'Ada' })

  const products = await http(url, 'GET', '/products?limit=10')
  expect(products.status).toBe(200)
  expect(products.body.items.map((p: { id: string }) => p.id)).toEqual(
    expect.arrayContaining(['tea-sencha', 'mug-stoneware', 'kettle-gooseneck', 'teapot-cast-iron']),
  )
  const mugStock = await stockOf(url, 'mug-stoneware')

  // Ada listens; so does someone else, who must not get Ada's notification.
  const stream = await openEvents(url, token)
  const other = await register(url, 'Grace')
  const otherStream = await openEvents(url, other.accessToken)
  try {
    expect(stream.status).toBe(200)
    const order = {
      idempotencyKey: `e2e-${randomUUID()}`,
      items: [{ productId: 'mug-stoneware', quantity: 2 }],
    }
    const placed = await http(url, 'POST', '/orders', { body: order, token })
    expect(placed.status).toBe(200)
    expect(placed.body).toMatchObject({ userId: ada.userId, totalCents: 2 * 1850, status: 'placed' })
    // A client retrying after a lost answer gets the same order, and stock is taken once.
    const again = await http(url, 'POST', '/orders', { body: order, token })
    expect(again.body.id).toBe(placed.body.id)
    expect(await stockOf(url, 'mug-stoneware')).toBe(mugStock - 2)
    expect((await ordersOf(url, token)).map((o) => o.id)).toEqual([placed.body.id])
    const single = await http(url, 'GET', `/orders/${placed.body.id}`, { token })
    expect(single.body.id).toBe(placed.body.id)
    // Someone else's order is not found, not forbidden.
    expect((await http(url, 'GET', `/orders/${placed.body.id}`, { token: other.accessToken })).status).toBe(
      404,
    )

    const live = await stream.next(
      (e) => e.event === 'notification.created' && e.data.kind === 'order-placed',
      10_000,
    )
    expect(live.data).toMatchObject({ userId: ada.userId })
    expect(live.data.message).toContain(placed.body.id)

    const inbox = await eventually(async () => {
      const res = await http(url, 'GET', '/notifications', { token })
      return res.body.items.length === 2 ? res.body.items : undefined
    })
    expect(inbox.map((n: { kind: string }) => n.kind).sort()).toEqual(['order-placed', 'welcome'])
    await new Promise((r) => setTimeout(r, 200))
    expect(otherStream.events.filter((e) => e.data.userId !== other.userId)).toEqual([])
  } finally {
    stream.close()
    otherStream.close()
  }
}

/**
 * Issue 9, finding 4 against the real system: auth's logout event ends the stream opened
 * with that token at once (not at its exp), another session's stream stays, and a token
 * in the URL is refused.
 */
export async function streamsEndOnLogout(system: System): Promise<void> {
  const { url } = system()
  const ada = await register(url, 'Ada')
  const login = await http(url, 'POST', '/auth/login', { body: { email: ada.email, password: ada.password } })
  const stream = await openEvents(url, ada.accessToken)
  const other = await openEvents(url, login.body.accessToken)
  try {
    expect([stream.status, other.status]).toEqual([200, 200])
    expect((await http(url, 'POST', '/auth/logout', { body: {}, token: ada.accessToken })).status).toBe(200)
    await stream.next((e) => e.event === 'stream.closed', 5_000)
    expect(stream.events.at(-1)).toEqual({ event: 'stream.closed', data: { reason: 'revoked' } })
    await stream.ended
    expect(other.events.some((e) => e.event === 'stream.closed')).toBe(false)
    const inUrl = await http(url, 'GET', `/events?token=${encodeURIComponent(login.body.accessToken)}`)
    expect(inUrl.status).toBe(400)
    expect(inUrl.body.error.code).toBe('BAD_REQUEST')
  } finally {
    stream.close()
    other.close()
  }
}

/** Quotes SIGKILLed, then its rates API hung: quotes degrades, logins and orders do not notice. */
export async function quotesFailures(system: System): Promise<void> {
  const { url, ref, quotesApi } = system()
  const ada = await register(url, 'Ada')
  expect((await http(url, 'GET', '/quotes/EUR')).body).toMatchObject({ rate: 0.92, stale: false })

  const pids = ref.supervisor
    .status()
    .units.find((u) => u.name === 'quotes')!
    .instances.map((i) => i.pid)
    .filter((p): p is number => p !== undefined)
  expect(pids.length).toBe(1)
  process.kill(pids[0]!, 'SIGKILL')

  const works = async (label: string) => {
    const login = await http(url, 'POST', '/auth/login', {
      body: { email: ada.email, password: ada.password },
    })
    expect(login.status, label).toBe(200)
    const order = await http(url, 'POST', '/orders', {
      token: login.body.accessToken,
      body: { idempotencyKey: `e2e-${randomUUID()}`, items: [{ productId: 'tea-sencha', quantity: 1 }] },
    })
    expect(order.status, `${label}: ${JSON.stringify(order.body)}`).toBe(200)
    expect(order.ms, label).toBeLessThan(3_000)
  }
  // Right after the kill: quotes answers fast with 503 (or again, once restarted); nothing else notices.
  const [quote] = await Promise.all([http(url, 'GET', '/quotes/EUR'), works('quotes killed')])
  expect([200, 503]).toContain(quote.status)
  expect(quote.ms).toBeLessThan(5_000)

  // The supervisor replaces the instance; then the outside API hangs.
  await eventually(
    async () => ((await http(url, 'GET', '/quotes/EUR')).status === 200 ? true : undefined),
    20_000,
  )
  quotesApi.setMode('slow', 60_000)
  const hung = ['EUR', 'GBP', 'JPY'].map((c) => http(url, 'GET', `/quotes/${c}`))
  await works('rates API hung')
  const answers = await Promise.all(hung)
  // EUR comes from the cache (stale); GBP/JPY were never fetched: UNAVAILABLE. Each within the
  // quotes service's own timeout, never the gateway's 10 s.
  expect(answers[0]!.status).toBe(200)
  expect(answers[0]!.body).toMatchObject({ rate: 0.92 })
  for (const a of answers.slice(1)) {
    expect(a.status).toBe(503)
    expect(a.body.error.code).toBe('UNAVAILABLE')
  }
  for (const a of answers) expect(a.ms).toBeLessThan(5_000)
  quotesApi.setMode('ok')
}

/** Malformed JSON, wrong types, unknown fields, huge bodies: 4xx, the field named, nothing written. */
export async function badInput(system: System): Promise<void> {
  const { url } = system()
  const ada = await register(url, 'Ada')
  const token = ada.accessToken
  const stock = await stockOf(url, 'tea-sencha')
  const key = `e2e-${randomUUID()}`
  const post = (body: unknown, headers?: Record<string, string>) =>
    http(url, 'POST', '/orders', { body, token, ...(headers ? { headers } : {}) })

  const malformed = await post('{"idempotencyKey": "abc', undefined)
  expect(malformed.status).toBe(400)
  expect(malformed.body.error.code).toBe('BAD_REQUEST')

  const plain = await post(JSON.stringify({ idempotencyKey: key, items: [] }), {
    'content-type': 'text/plain',
  })
  expect(plain.status).toBe(415)

  const proto = await post(`{"idempotencyKey":"${key}","items":[],"__proto__":{"admin":true}}`)
  expect(proto.status).toBe(400)

  const wrongTypes: [unknown, string][] = [
    [{ idempotencyKey: 12345678, items: [{ productId: 'tea-sencha', quantity: 1 }] }, '/idempotencyKey'],
    [{ idempotencyKey: key, items: 'tea-sencha' }, '/items'],
    [{ idempotencyKey: key, items: [{ productId: 'tea-sencha', quantity: '2' }] }, '/items/0/quantity'],
    [{ idempotencyKey: key, items: [{ productId: 'tea-sencha', quantity: 0 }] }, '/items/0/quantity'],
    [{ idempotencyKey: key, items: [{ productId: 'tea-sencha', quantity: 1001 }] }, '/items/0/quantity'],
    [{ idempotencyKey: key, items: [{ productId: '../etc', quantity: 1 }] }, '/items/0/productId'],
    [{ idempotencyKey: key, items: [{ productId: 'tea-sencha', quantity: 1 }], price: 0 }, '/price'],
    [{ idempotencyKey: key }, '/items'],
  ]
  for (const [body, path] of wrongTypes) {
    const res = await post(body)
    expect(res.status, JSON.stringify(body)).toBe(400)
    expect(res.body.error.code).toBe('VALIDATION')
    expect(res.body.error.data.errors[0].path, JSON.stringify(body)).toBe(path)
  }

  // A huge body is refused before it is parsed (the limit is 64 KiB).
  const items = Array.from({ length: 20_000 }, () => ({ productId: 'tea-sencha', quantity: 1 }))
  const huge = await post({ idempotencyKey: key, items })
  expect(huge.status).toBe(413)
  expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE')

  // Refused registrations name the field and create no account.
  const email = `nobody-${randomUUID().slice(0, 8)}@example.com`
  const badRegistrations: [unknown, string][] = [
    [{ email, password: 'short', name: 'N' }, '/password'],
    [{ email: 'not an email', password: 'long enough pass', name: 'N' }, '/email'],
    [{ email, password: 'long enough pass', name: 42 }, '/name'],
    [{ email, password: 'x'.repeat(129), name: 'N' }, '/password'],
  ]
  for (const [body, path] of badRegistrations) {
    const res = await http(url, 'POST', '/auth/register', { body })
    expect(res.status).toBe(400)
    expect(res.body.error.data.errors[0].path).toBe(path)
  }
  const login = await http(url, 'POST', '/auth/login', { body: { email, password: 'long enough pass' } })
  expect(login.status).toBe(401)

  // Nothing was written: no order, no stock taken, only the welcome notification.
  expect(await ordersOf(url, token)).toEqual([])
  expect(await stockOf(url, 'tea-sencha')).toBe(stock)
  const inbox = await http(url, 'GET', '/notifications', { token })
  expect(inbox.body.items.map((n: { kind: string }) => n.kind)).toEqual(['welcome'])
  // And the key was not burnt: it still places exactly one order.
  const ok = await post({ idempotencyKey: key, items: [{ productId: 'tea-sencha', quantity: 1 }] })
  expect(ok.status).toBe(200)
}

/** Missing, malformed, forged, expired, foreign and revoked tokens: 401, no call, nothing written. */
export async function badTokens(system: System): Promise<void> {
  const { url } = system()
  const ada = await register(url, 'Ada')
  const stock = await stockOf(url, 'tea-sencha')
  const now = Math.floor(Date.now() / 1000)
  const order = () => ({
    idempotencyKey: `e2e-${randomUUID()}`,
    items: [{ productId: 'tea-sencha', quantity: 1 }],
  })

  // Log out a second session: its access token is revoked from then on.
  const second = await http(url, 'POST', '/auth/login', {
    body: { email: ada.email, password: ada.password },
  })
  const revoked: string = second.body.accessToken
  expect(
    (
      await http(url, 'POST', '/auth/logout', {
        token: revoked,
        body: { refreshToken: second.body.refreshToken },
      })
    ).status,
  ).toBe(200)

  const key = system().privateKey
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
  const tokens: [string, Record<string, string>][] = [
    ['missing', {}],
    ['not a JWT', { authorization: 'Bearer not-a-jwt' }],
    ['wrong scheme', { authorization: `Basic ${Buffer.from('ada:pw').toString('base64')}` }],
    [
      // What anyone could mint before access tokens were EdDSA: the secret was in the source.
      'admin, HS256 with the old development secret',
      bearer(
        await signToken(
          { sub: ada.userId, exp: now + 600, roles: ['user', 'admin'] },
          new TextEncoder().encode(OLD_DEV_SECRET),
        ),
      ),
    ],
    [
      'forged (another Ed25519 key)',
      bearer(await signToken({ sub: ada.userId, exp: now + 600 }, generateKeyPairSync('ed25519').privateKey)),
    ],
    ['expired', bearer(await signToken({ sub: ada.userId, exp: now - 60 }, key))],
    ['no exp', bearer(await signToken({ sub: ada.userId, exp: null }, key))],
    ['no aud', bearer(await signToken({ sub: ada.userId, exp: now + 600, aud: null }, key))],
    ['other audience', bearer(await signToken({ sub: ada.userId, exp: now + 600, aud: 'other-api' }, key))],
    ['other issuer', bearer(await signToken({ sub: ada.userId, exp: now + 600, iss: 'someone-else' }, key))],
    ['no jti', bearer(await signToken({ sub: ada.userId, exp: now + 600, jti: '' }, key))],
    ['alg none', { authorization: `Bearer ${unsigned(ada.userId, now + 600)}` }],
    ['revoked (logged out)', { authorization: `Bearer ${revoked}` }],
  ]
  for (const [label, headers] of tokens) {
    const placed = await http(url, 'POST', '/orders', { body: order(), headers })
    expect(placed.status, label).toBe(401)
    expect(placed.body.error.code, label).toBe('UNAUTHORIZED')
    expect(placed.headers.get('www-authenticate'), label).toMatch(/^Bearer realm="tessera"/)
    const listed = await http(url, 'GET', '/orders', { headers })
    expect(listed.status, label).toBe(401)
    const events = await openEvents(url, headers.authorization?.replace(/^Bearer /, ''))
    events.close()
    expect(events.status, `${label} (events)`).toBe(401)
  }

  // Nothing was written; Ada's own token still works.
  expect(await ordersOf(url, ada.accessToken)).toEqual([])
  expect(await stockOf(url, 'tea-sencha')).toBe(stock)
  const ok = await http(url, 'POST', '/orders', { body: order(), token: ada.accessToken })
  expect(ok.status).toBe(200)
}

/** A token with `alg: none`: no signature at all. */
function unsigned(sub: string, exp: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub, exp, iss: 'tessera-reference', jti: randomUUID() })}.`
}
