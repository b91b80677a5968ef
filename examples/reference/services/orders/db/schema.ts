/** The orders service's table. Lines are a JSON snapshot: an order keeps the prices it was placed at. */
import type { OutboxTable } from '../../../lib/outbox.ts'

export interface OrdersDb extends OutboxTable {
  orders: {
    id: string
    user_id: string
    /** Unique per user: a retried `place` with the same key finds this row instead of adding one. */
    idempotency_key: string
    /** Hash of the requested items, so a reused key with other items is told apart. */
    request_hash: string
    lines: string
    total_cents: number
    status: 'placed'
    created_at: string
    /** 1 once `order.placed` went out; a retry of `place` re-emits while it is 0. */
    announced: number
  }
}
