import { Type as T } from '@sinclair/typebox'
import { Id } from '../../lib/schemas.ts'

/**
 * Emitted when an access token is revoked (logout). Gateways end the event streams
 * opened with that token (`sse.revocationEvent`) instead of waiting for its `exp`.
 * Carries the token's `jti`, never the token.
 */
export const SessionRevoked = T.Object({
  userId: Id,
  jti: T.String({ minLength: 1, maxLength: 128 }),
})
