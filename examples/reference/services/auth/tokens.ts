import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'
import type { Principal } from 'tessera/context'
import { TesseraError } from 'tessera/errors'

export const ISSUER = 'tessera-reference'
const DEV_SECRET = 'tessera-dev-secret-do-not-use-in-production-0123456789'
const MIN_SECRET_BYTES = 32

/**
 * The HS256 secret: `TESSERA_JWT_SECRET`, else a fixed development secret with a process
 * warning. Throws when the secret is shorter than 32 bytes, or when it is missing under
 * `NODE_ENV=production` (anyone could mint tokens with the published dev secret).
 */
export function jwtSecretFromEnv(env: NodeJS.ProcessEnv = process.env): Uint8Array {
  const secret = env.TESSERA_JWT_SECRET
  if (secret === undefined || secret === '') {
    if (env.NODE_ENV === 'production') throw new Error('TESSERA_JWT_SECRET must be set in production')
    process.emitWarning('TESSERA_JWT_SECRET is not set: using the development secret', 'TesseraAuth')
    return new TextEncoder().encode(DEV_SECRET)
  }
  return checkedSecret(secret)
}

export function checkedSecret(secret: string): Uint8Array {
  const bytes = new TextEncoder().encode(secret)
  if (bytes.length < MIN_SECRET_BYTES)
    throw new Error(`the JWT secret needs at least ${MIN_SECRET_BYTES} bytes`)
  return bytes
}

export interface AccessClaims {
  sub: string
  roles: string[]
  jti: string
  /** Seconds since epoch. */
  exp: number
}

/** Signs a short-lived access token (HS256) with `sub`, `roles`, `jti`, `iat`, `exp`, `iss`. */
export async function signAccessToken(
  key: Uint8Array,
  subject: string,
  roles: string[],
  nowMs: number,
  ttlSec: number,
): Promise<{ token: string; claims: AccessClaims }> {
  const iat = Math.floor(nowMs / 1000)
  const claims: AccessClaims = { sub: subject, roles, jti: randomUUID(), exp: iat + ttlSec }
  const token = await new SignJWT({ roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(subject)
    .setJti(claims.jti)
    .setIssuer(ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(claims.exp)
    .sign(key)
  return { token, claims }
}

/**
 * Verifies an access token as the gateway does and returns the principal it stands for;
 * UNAUTHORIZED when it is forged, expired or not ours. For scripts and tests that call
 * services without a gateway in front.
 */
export async function verifyAccessToken(key: Uint8Array, token: string): Promise<Principal> {
  try {
    const { payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: ['HS256'] })
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
