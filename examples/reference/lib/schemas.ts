/**
 * Field schemas shared by the reference services. Every string has a maximum length and
 * every number a range, so no input can make a handler allocate or store without bound.
 * Formats are patterns, not TypeBox `format`s: patterns need no format registry and
 * survive announcement to the gateway as plain JSON Schema.
 */
import { Type as T } from '@sinclair/typebox'

/** An id: UUIDs and short slugs. */
export const Id = T.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })

/** A pragmatic address check (one @, a dot in the domain, no spaces); delivery proves the rest. */
export const Email = T.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$' })

/** 8..128 characters: long passphrases welcome, unbounded input (a slow-hash DoS) not. */
export const Password = T.String({ minLength: 8, maxLength: 128 })

export const DisplayName = T.String({ minLength: 1, maxLength: 100 })

/** A client-chosen key that makes a non-idempotent action safe to retry. */
export const IdempotencyKey = T.String({ minLength: 8, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' })

/** An ISO-8601 timestamp, as stored. */
export const Timestamp = T.String({ maxLength: 40 })

export const Limit = T.Integer({ minimum: 1, maximum: 100 })
export const Offset = T.Integer({ minimum: 0, maximum: 1_000_000 })

/** Page size when a list call gives none. */
export const DEFAULT_LIMIT = 20

/** Products and quantities to order or reserve: 1..50 lines of 1..1000 each. */
export const Items = T.Array(
  T.Object(
    { productId: Id, quantity: T.Integer({ minimum: 1, maximum: 1_000 }) },
    { additionalProperties: false },
  ),
  { minItems: 1, maxItems: 50 },
)
