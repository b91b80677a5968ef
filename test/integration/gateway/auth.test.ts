import { describe, expect, it } from 'vitest'
import {
  AUDIENCE,
  catalogService,
  createCounter,
  faults,
  json,
  SECRET,
  startGateway,
  token,
} from './fixtures.ts'

const body = JSON.stringify({ name: 'Lamp', price: 1 })

async function post(url: string, authorization?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (authorization !== undefined) headers.authorization = authorization
  return fetch(`${url}/items`, { method: 'POST', headers, body })
}

describe('gateway authentication', () => {
  it('answers 401 with a Bearer challenge when the token is missing, and never calls', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)])
    const res = await post(sys.url)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tessera"')
    expect((await json(res)).error.code).toBe('UNAUTHORIZED')
    expect(calls.of('create')).toBe(0)
  })

  it('answers 401 invalid_token to forged, expired, wrong-audience, wrong-issuer and garbage tokens', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)])
    const past = Math.floor(Date.now() / 1000) - 60
    const cases = {
      forged: await token({}, { secret: `${SECRET}-not` }),
      expired: await token({}, { expiresIn: past }),
      audience: await token({}, { audience: 'another-api' }),
      issuer: await token({}, { issuer: 'someone-else' }),
      garbage: 'not.a.token',
    }
    for (const [name, jwt] of Object.entries(cases)) {
      const res = await post(sys.url, `Bearer ${jwt}`)
      expect(res.status, name).toBe(401)
      expect(res.headers.get('www-authenticate'), name).toContain('error="invalid_token"')
    }
    const expired = await post(sys.url, `Bearer ${cases.expired}`)
    expect((await json(expired)).error.message).toBe('token expired')
    expect((await post(sys.url, 'Basic dXNlcjpwdw==')).status).toBe(401)
    expect(calls.of('create')).toBe(0)
  })

  it('passes the principal (sub, roles, claims) on to the handler', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)])
    const res = await post(sys.url, `Bearer ${await token({ roles: ['admin'] }, { sub: 'ada' })}`)
    expect(res.status).toBe(200)
    expect(await json(res)).toMatchObject({ by: 'ada', roles: ['admin'] })
  })

  it('serves public routes without a token', async () => {
    await using sys = await startGateway([catalogService(createCounter())])
    expect((await fetch(`${sys.url}/items/1`)).status).toBe(200)
  })

  it('does not look at tokens on public routes: the call is anonymous', async () => {
    await using sys = await startGateway([faults])
    const res = await fetch(`${sys.url}/context`, {
      headers: { authorization: `Bearer ${await token({}, { sub: 'grace' })}` },
    })
    expect((await json(res)).principal).toBeNull()
  })

  it('rejects revoked tokens through the isRevoked hook', async () => {
    const calls = createCounter()
    const revoked = new Set(['jti-1'])
    await using sys = await startGateway([catalogService(calls)], {
      auth: {
        jwt: { secret: SECRET, audience: AUDIENCE },
        isRevoked: async (payload) => revoked.has(String(payload.jti)),
      },
    })
    const res = await post(sys.url, `Bearer ${await token({ jti: 'jti-1' })}`)
    expect(res.status).toBe(401)
    expect((await json(res)).error.message).toBe('token revoked')
    expect((await post(sys.url, `Bearer ${await token({ jti: 'jti-2' })}`)).status).toBe(200)
    expect(calls.of('create')).toBe(1)
  })

  it('keeps authenticated routes closed when no auth is configured', async () => {
    const calls = createCounter()
    await using sys = await startGateway([catalogService(calls)], { auth: 'none' })
    const res = await post(sys.url, `Bearer ${await token()}`)
    expect(res.status).toBe(401)
    expect((await json(res)).error.message).toBe('authentication is not configured on this gateway')
    expect(calls.of('create')).toBe(0)
  })
})
