/** The auth service's tables. Timestamps are ISO-8601 text; expiries are ms since epoch. */
import type { OutboxTable } from '../../../lib/outbox.ts'

export interface AuthDb extends OutboxTable {
  credentials: {
    user_id: string
    email: string
    password_hash: string
    /** JSON array of role names. */
    roles: string
    /** `pending` until the profile exists in users; only `active` accounts can log in. */
    status: 'pending' | 'active'
    created_at: string
  }
  refresh_tokens: {
    token_hash: string
    user_id: string
    /** All tokens rotated from one login share a family; reuse of a spent one revokes it. */
    family_id: string
    expires_at: number
    used_at: string | null
    revoked_at: string | null
    created_at: string
  }
  revoked_access_tokens: {
    jti: string
    /** When the token expires anyway; the row can go after that. */
    expires_at: number
  }
  /** Failed logins per account, for the backoff (throttle.ts). */
  login_failures: {
    /** SHA-256 of the normalized email: unknown addresses are throttled too, and not stored in clear. */
    account_key: string
    /** Attempts counted since the last success (or since they were forgotten). */
    failures: number
    /** Ms since epoch; no attempt is checked before it. */
    locked_until: number
    last_attempt_at: number
  }
  /** Who granted or revoked which role, when: an audit trail, never read to decide access. */
  role_changes: {
    id: string
    user_id: string
    role: string
    change: 'grant' | 'revoke'
    /** The admin's user id, or `bootstrap` for the admin script. */
    changed_by: string
    changed_at: string
  }
}
