import { generateKeyPairSync } from 'node:crypto'
import { exportJWK, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { bearerChallenge, createAuthenticator } from './auth.ts'

const { publicKey, privateKey } = generateKeyPairSync('ed25519')

function sign(claims: Record<string, unknown> = {}, alg = 'EdDSA', key: unknown = privateKey) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid: 'k1' })
    .setSubject('ada')
    .setExpirationTime('1m')
    .sign(key as Parameters<SignJWT['sign']>[0])
}

describe('createAuthenticator', () => {
  it('verifies tokens signed with a private key against a PEM public key', async () => {
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
    const auth = createAuthenticator({ jwt: { publicKey: pem } })
    const principal = await auth.authenticate(`Bearer ${await sign({ roles: ['admin', 7] })}`)
    expect(principal.id).toBe('ada')
    // roles must be all strings to count as roles; the claim stays in claims.
    expect(principal.roles).toBeUndefined()
    expect(principal.claims?.roles).toEqual(['admin', 7])
  })

  it('verifies against an inline JWKS and refuses an HMAC token (no algorithm confusion)', async () => {
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' }
    const auth = createAuthenticator({ jwt: { jwks: { keys: [jwk] } } })
    expect((await auth.authenticate(`Bearer ${await sign()}`)).id).toBe('ada')
    const hmac = await sign({}, 'HS256', new TextEncoder().encode('x'.repeat(32)))
    await expect(auth.authenticate(`Bearer ${hmac}`)).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
  })

  it('refuses a token without a claim named in requiredClaims', async () => {
    const auth = createAuthenticator({ jwt: { publicKey, requiredClaims: ['exp', 'jti'] } })
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA' })
      .setSubject('ada')
      .setJti('j')
      .sign(privateKey)
    const err = await auth.authenticate(`Bearer ${noExp}`).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', message: 'token claim "exp" is not accepted' })
    await expect(auth.authenticate(`Bearer ${await sign()}`)).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    expect((await auth.authenticate(`Bearer ${await sign({ jti: 'j' })}`)).id).toBe('ada')
  })

  it('refuses a key configuration that is ambiguous', () => {
    expect(() => createAuthenticator({ jwt: {} })).toThrow(TypeError)
    expect(() => createAuthenticator({ jwt: { secret: 's', jwks: { keys: [] } } })).toThrow(TypeError)
  })

  it('asks isRevoked, synchronously too, and builds the challenge from the failure', async () => {
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
    const auth = createAuthenticator({ jwt: { publicKey: pem }, isRevoked: (p) => p.sub === 'ada' })
    const err = await auth.authenticate(`Bearer ${await sign()}`).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', message: 'token revoked' })
    expect(bearerChallenge(err as never)).toBe(
      'Bearer realm="tessera", error="invalid_token", error_description="token revoked"',
    )
    const missing = await auth.authenticate(undefined).catch((e: unknown) => e)
    expect(bearerChallenge(missing as never)).toBe('Bearer realm="tessera"')
  })
})
