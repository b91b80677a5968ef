/**
 * The HTTP gateway of the reference system: which tokens it accepts (the auth service's),
 * how it asks about revoked ones, the live notification stream, the web page and limits.
 *
 * @example
 * // gateway/entry.ts: the gateway unit's adapter, in its own process
 * const gateway = await createGateway({ ...(await referenceGatewayOptions(broker, process.env)), listen })
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Broker } from 'tessera/broker'
import type { GatewayOptions } from 'tessera/gateway'
import { ACCESS_TOKEN_ALG, verifyingKeyFromEnv } from '../services/auth/keys.ts'
import type { AuthService } from '../services/auth/service.ts'
import { AUDIENCE, ISSUER, REQUIRED_CLAIMS } from '../services/auth/tokens.ts'

/** The folder of the web page the gateway serves at `/`. */
export const WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'web')

/** Default port of `npm start`. */
export const DEFAULT_PORT = 8080

/** How long one revocation check may take before the request fails (503/504) rather than waits. */
const REVOCATION_TIMEOUT_MS = 5_000

/**
 * The gateway options for the reference system, read from `env`:
 *
 * | env | default | |
 * |---|---|---|
 * | `TESSERA_JWT_PUBLIC_KEY` | the key file in `$TESSERA_DATA_DIR/keys` | SPKI PEM of the Ed25519 key auth signs with (see services/auth/keys.ts) |
 * | `PORT` | 8080 | `0` picks a free port |
 * | `GATEWAY_HOST` | `HOST`, else 127.0.0.1 | the interface to listen on |
 * | `RATE_LIMIT_PER_MINUTE` | 600 | action calls per client (user, else IP) per minute |
 * | `CORS_ORIGINS` | none | comma-separated origins; the page itself is same-origin and needs none |
 *
 * Only EdDSA tokens with `exp`, `iss`, `aud` and `sub` that verify with auth's public key
 * are accepted; the gateway holds no secret that could sign one.
 * A token is refused (401) when auth says its `jti` was revoked (logout); when auth
 * cannot answer, the request fails rather than letting a possibly revoked token through.
 * An event stream (`GET /events`, token in the Authorization header only) ends when its
 * token expires or is logged out.
 */
export async function referenceGatewayOptions(
  broker: Broker,
  env: NodeJS.ProcessEnv = process.env,
): Promise<GatewayOptions> {
  const publicKey = await verifyingKeyFromEnv(env)
  const perMinute = positiveInt(env.RATE_LIMIT_PER_MINUTE, 600, 'RATE_LIMIT_PER_MINUTE')
  const origins = (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
  return {
    broker,
    // HOST: what a container of the gateway unit is given (tessera build k8s), no shared socket there.
    host: env.GATEWAY_HOST || env.HOST || '127.0.0.1',
    port: env.PORT === undefined || env.PORT === '' ? DEFAULT_PORT : port(env.PORT),
    auth: {
      // The public half of the key, the issuer and audience auth signs with (services/auth/tokens.ts).
      jwt: {
        publicKey,
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: [ACCESS_TOKEN_ALG],
        requiredClaims: REQUIRED_CLAIMS,
      },
      isRevoked: async (claims) => {
        // Tokens from auth always carry a jti; one without it was not issued by auth.
        if (typeof claims.jti !== 'string' || claims.jti === '') return true
        const { revoked } = await broker
          .client<AuthService>('auth')
          .isRevoked({ jti: claims.jti }, { timeout: REVOCATION_TIMEOUT_MS })
        return revoked
      },
    },
    rateLimit: { max: perMinute, windowMs: 60_000 },
    // The largest valid request (50 order lines) is a few KiB.
    bodyLimit: 64 * 1024,
    timeoutMs: 10_000,
    // The default filter sends each notification only to the user in its `userId`. Auth's
    // logout emits `session.revoked`, which ends the streams of that token at once; the
    // default re-check (60 s) covers a missed event, the token's exp the rest. Streams
    // are capped at the default 5 per user (tabs) and 1 000 per gateway.
    sse: { events: ['notification.created'], auth: 'authenticated', revocationEvent: 'session.revoked' },
    static: { root: WEB_ROOT, prefix: '/' },
    docs: true,
    openapi: {
      title: 'Tessera reference shop',
      version: '1.0.0',
      description: 'Accounts, catalog, orders, quotes and notifications of the Tessera reference system.',
    },
    ...(origins.length > 0 ? { cors: { origins } } : {}),
  }
}

function port(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new TypeError(`PORT must be 0..65535, got "${value}"`)
  return n
}

function positiveInt(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`${name} must be a positive integer, got "${value}"`)
  return n
}
