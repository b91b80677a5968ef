import { createHash, createPublicKey, type KeyObject, randomBytes, randomUUID } from 'node:crypto'
import { type CryptoKey, jwtVerify, SignJWT } from 'jose'
import type { Principal } from 'tessera/context'
import { TesseraError } from 'tessera/errors'
import { ACCESS_TOKEN_ALG } from './keys.ts'

export const ISSUER = 'tessera-reference'
/** The `aud` of access tokens: the reference system's HTTP API (the gateway). */
export const AUDIENCE = 'tessera-reference-api'
/** Claims a token must carry to be accepted, by the gateway and by `verifyAccessToken`. */
export const REQUIRED_CLAIMS = ['exp', 'iss', 'aud', 'sub']

export interface AccessClaims {
  sub: string
  roles: string[]
  jti: string
  /** Seconds since epoch. */
  exp: number
}

/**
 * Signs a short-lived access token (EdDSA, Ed25519) with `sub`, `roles`, `jti`, `iat`,
 * `exp`, `iss` and `aud`. The key comes from `signingKeysFromEnv` (keys.ts).
 */
export async function signAccessToken(
  key: KeyObject | CryptoKey,
  subject: string,
  roles: string[],
  nowMs: number,
  ttlSec: number,
): Promise<{ token: string; claims: AccessClaims }> {
  const iat = Math.floor(nowMs / 1000)
  const claims: AccessClaims = { sub: subject, roles, jti: randomUUID(), exp: iat + ttlSec }
  const token = await new SignJWT({ roles })
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, typ: 'JWT' })
    .setSubject(subject)
    .setJti(claims.jti)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(claims.exp)
    .sign(key)
  return { token, claims }
}

/**
 * Verifies an access token as the gateway does (public key only, EdDSA only, `exp`,
 * `iss`, `aud` and `sub` required) and returns the principal it stands for;
 * UNAUTHORIZED when it is forged, expired or not ours. For scripts and tests that call
 * services without a gateway in front.
 */
export async function verifyAccessToken(
  publicKey: KeyObject | CryptoKey | string,
  token: string,
): Promise<Principal> {
  try {
    const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey
    const { payload } = await jwtVerify(token, key, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: [ACCESS_TOKEN_ALG],
      requiredClaims: REQUIRED_CLAIMS,
    })
    if (typeof payload.sub !== 'string') throw new Error('no subject')
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((r) => typeof r === 'string') : []
    return { id: payload.sub, roles, claims: { ...payload } }
  } catch (err) {
    throw new TesseraError('UNAUTHORIZED', 'invalid access token', undefined, { cause: err })
  }
}

/** An opaque refresh token: 256 random bits. Only its hash is stored. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url')
}

/** SHA-256 suffices (no salt, no slow hash): the token is 256 random bits, not a guessable password. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}
