import { createHash } from 'node:crypto'
import { Type as T } from '@sinclair/typebox'
import { Id, Timestamp } from '../../lib/schemas.ts'
import type { OrdersDb } from './db/schema.ts'

export const OrderLine = T.Object({
  productId: Id,
  name: T.String(),
  quantity: T.Integer({ minimum: 1 }),
  priceCents: T.Integer({ minimum: 0 }),
})

export const Order = T.Object({
  id: Id,
  userId: Id,
  lines: T.Array(OrderLine),
  totalCents: T.Integer({ minimum: 0 }),
  status: T.Literal('placed'),
  createdAt: Timestamp,
})

type Row = OrdersDb['orders']
type OrderLineValue = { productId: string; name: string; quantity: number; priceCents: number }

export function toOrder(row: Row) {
  return {
    id: row.id,
    userId: row.user_id,
    lines: JSON.parse(row.lines) as OrderLineValue[],
    totalCents: row.total_cents,
    status: row.status,
    createdAt: row.created_at,
  }
}

/** A stable hash of the requested items, independent of their order. */
export function requestHash(items: { productId: string; quantity: number }[]): string {
  const canonical = items
    .map((i) => `${i.productId}*${i.quantity}`)
    .sort()
    .join(',')
  return createHash('sha256').update(canonical).digest('base64url')
}
