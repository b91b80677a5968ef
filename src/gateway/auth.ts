import { createPublicKey, type KeyObject, type webcrypto } from 'node:crypto'
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose'
import type { Principal } from '../context/index.ts'
import { TesseraError } from '../errors/index.ts'

/** How bearer tokens are verified. Give exactly one of `secret`, `publicKey`, `jwks`. */
export interface JwtOptions {
  /** Shared secret for HS256/384/512. */
  secret?: string | Uint8Array
  /** A public key (KeyObject, CryptoKey or SPKI PEM) for RS/PS/ES/EdDSA tokens. */
  publicKey?: KeyObject | webcrypto.CryptoKey | string
  /** A JWKS URL (fetched and cached by jose) or a key set given inline. */
  jwks?: string | URL | JSONWebKeySet
  issuer?: string | string[]
  audience?: string | string[]
  /** Accepted `alg` values; by default, those that fit the key. */
  algorithms?: string[]
  /** Claims a token must carry, e.g. `['exp']` (`iss`/`aud` are required when `issuer`/`audience` are given). */
  requiredClaims?: string[]
  /** Leeway for `exp`/`nbf`, in seconds. Default 5. */
  clockToleranceSec?: number
}

export interface AuthOptions {
  jwt: JwtOptions
  /** Called after a token verified; `true` rejects it (401) — for revocation lists. */
  isRevoked?: (payload: JWTPayload) => boolean | Promise<boolean>
}

export interface Authenticator {
  /**
   * Verifies `Authorization: Bearer <jwt>` (or a bare token) and returns who it is for.
   * Rejects with UNAUTHORIZED (`data.reason`: `missing` or `invalid`) when the token is
   * missing, malformed, forged, expired, not yet valid, for another issuer or audience,
   * has no `sub`, or is revoked.
   */
  authenticate(authorization: string | undefined): Promise<Principal>
}

/**
 * Builds the token verifier from the gateway's `auth` option. Without options every
 * authenticated route answers 401: routes are closed by default, never open by accident.
 *
 * @example
 * const auth = createAuthenticator({ jwt: { secret: process.env.JWT_SECRET!, issuer: 'shop', audience: 'shop-api' } })
 * const principal = await auth.authenticate(req.headers.authorization) // { id: sub, roles, claims }
 */
export function createAuthenticator(options: AuthOptions | undefined): Authenticator {
  if (!options) {
    return {
      authenticate: () =>
        Promise.reject(unauthorized('missing', 'authentication is not configured on this gateway')),
    }
  }
  const key = verificationKey(options.jwt)
  const verifyOptions: JWTVerifyOptions = { clockTolerance: options.jwt.clockToleranceSec ?? 5 }
  if (options.jwt.issuer !== undefined) verifyOptions.issuer = options.jwt.issuer
  if (options.jwt.audience !== undefined) verifyOptions.audience = options.jwt.audience
  if (options.jwt.algorithms !== undefined) verifyOptions.algorithms = options.jwt.algorithms
  if (options.jwt.requiredClaims !== undefined) verifyOptions.requiredClaims = options.jwt.requiredClaims
  const isRevoked = options.isRevoked

  return {
    async authenticate(authorization) {
      const token = bearerToken(authorization)
      let payload: JWTPayload
      try {
        payload =
          typeof key === 'function'
            ? (await jwtVerify(token, key, verifyOptions)).payload
            : (await jwtVerify(token, key, verifyOptions)).payload
      } catch (err) {
        throw unauthorized('invalid', describe(err))
      }
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        throw unauthorized('invalid', 'token has no subject')
      }
      if (isRevoked && (await isRevoked(payload))) throw unauthorized('invalid', 'token revoked')
      return toPrincipal(payload as JWTPayload & { sub: string })
    },
  }
}

function verificationKey(jwt: JwtOptions): Uint8Array | KeyObject | webcrypto.CryptoKey | JWTVerifyGetKey {
  const given = [jwt.secret, jwt.publicKey, jwt.jwks].filter((k) => k !== undefined).length
  if (given !== 1) throw new TypeError('auth.jwt needs exactly one of secret, publicKey, jwks')
  if (jwt.secret !== undefined) {
    return typeof jwt.secret === 'string' ? new TextEncoder().encode(jwt.secret) : jwt.secret
  }
  if (jwt.publicKey !== undefined) {
    return typeof jwt.publicKey === 'string' ? createPublicKey(jwt.publicKey) : jwt.publicKey
  }
  const jwks = jwt.jwks!
  return typeof jwks === 'string' || jwks instanceof URL
    ? createRemoteJWKSet(new URL(jwks))
    : createLocalJWKSet(jwks)
}

const BEARER = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i

function bearerToken(authorization: string | undefined): string {
  if (!authorization) throw unauthorized('missing', 'missing bearer token')
  const m = BEARER.exec(authorization)
  if (!m) throw unauthorized('invalid', 'the Authorization header must be "Bearer <token>"')
  return m[1]!
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token expired'
  if (err instanceof errors.JWTClaimValidationFailed) return `token claim "${err.claim}" is not accepted`
  return 'invalid token'
}

function toPrincipal(payload: JWTPayload & { sub: string }): Principal {
  const principal: Principal = { id: payload.sub, claims: { ...payload } }
  const roles = payload.roles
  if (Array.isArray(roles) && roles.every((r) => typeof r === 'string')) principal.roles = roles
  return principal
}

/** An UNAUTHORIZED error; `reason` picks the `WWW-Authenticate` challenge. */
export function unauthorized(reason: 'missing' | 'invalid', message: string): TesseraError {
  return new TesseraError('UNAUTHORIZED', message, { reason })
}

/** The `WWW-Authenticate` value for a 401 (RFC 6750). */
export function bearerChallenge(err: TesseraError): string {
  const reason = err.data?.reason
  if (reason === 'missing') return 'Bearer realm="tessera"'
  const description = err.message.replace(/["\\]/g, '')
  return `Bearer realm="tessera", error="invalid_token", error_description="${description}"`
}
