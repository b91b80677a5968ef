import type { Kysely, Transaction } from 'kysely'
import { TesseraError } from 'tessera/errors'
import type { CatalogDb } from './db/schema.ts'

export interface ReservationItem {
  productId: string
  quantity: number
}

export interface ReservedLine extends ReservationItem {
  name: string
  priceCents: number
}

/**
 * Reserves every item under `key`, all or nothing, in one transaction. A key seen before
 * returns the lines it reserved then (no second decrement), so the caller may retry
 * after any failure; the same key with other items, or a released key, is a CONFLICT.
 * Insufficient stock is a CONFLICT naming the product; an unknown product NOT_FOUND.
 */
export function reserve(db: Kysely<CatalogDb>, key: string, items: ReservationItem[], now: Date) {
  return db.transaction().execute(async (trx) => {
    // The key row goes in first: it takes SQLite's write lock, and PostgreSQL makes a
    // concurrent twin wait on the key until this transaction ends.
    const claimed = await trx
      .insertInto('reservations')
      .values({ key, created_at: now.toISOString(), released_at: null })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst()
    if (Number(claimed.numInsertedOrUpdatedRows ?? 0) === 0) return existing(trx, key, items)
    const lines: ReservedLine[] = []
    for (const { productId, quantity } of items) {
      const taken = await trx
        .updateTable('products')
        .set((eb) => ({ stock: eb('stock', '-', quantity) }))
        .where('id', '=', productId)
        .where('stock', '>=', quantity)
        .executeTakeFirst()
      const product = await trx
        .selectFrom('products')
        .select(['name', 'price_cents', 'stock'])
        .where('id', '=', productId)
        .executeTakeFirst()
      if (!product) throw new TesseraError('NOT_FOUND', `product ${productId} not found`, { productId })
      if (Number(taken.numUpdatedRows) === 0) {
        throw new TesseraError('CONFLICT', `not enough stock of ${productId}`, {
          productId,
          requested: quantity,
          available: product.stock,
        })
      }
      lines.push({ productId, quantity, name: product.name, priceCents: product.price_cents })
    }
    await trx
      .insertInto('reservation_lines')
      .values(
        lines.map((l) => ({
          reservation_key: key,
          product_id: l.productId,
          name: l.name,
          quantity: l.quantity,
          price_cents: l.priceCents,
        })),
      )
      .execute()
    return lines
  })
}

async function existing(trx: Transaction<CatalogDb>, key: string, items: ReservationItem[]) {
  const reservation = await trx
    .selectFrom('reservations')
    .select('released_at')
    .where('key', '=', key)
    .executeTakeFirstOrThrow()
  if (reservation.released_at !== null) {
    throw new TesseraError('CONFLICT', `reservation ${key} was released`, { key })
  }
  const lines = await linesOf(trx, key)
  if (signature(lines) !== signature(items)) {
    throw new TesseraError('CONFLICT', `reservation ${key} exists with other items`, { key })
  }
  // Answer in the caller's item order, as a first reservation would.
  const byId = new Map(lines.map((l) => [l.productId, l]))
  return items.map((i) => byId.get(i.productId)!)
}

/**
 * Puts the stock of reservation `key` back. True when this call released it; false when
 * it was already released or never existed, so a retry is harmless.
 */
export function release(db: Kysely<CatalogDb>, key: string, now: Date) {
  return db.transaction().execute(async (trx) => {
    const released = await trx
      .updateTable('reservations')
      .set({ released_at: now.toISOString() })
      .where('key', '=', key)
      .where('released_at', 'is', null)
      .executeTakeFirst()
    if (Number(released.numUpdatedRows) === 0) return false
    for (const line of await linesOf(trx, key)) {
      await trx
        .updateTable('products')
        .set((eb) => ({ stock: eb('stock', '+', line.quantity) }))
        .where('id', '=', line.productId)
        .execute()
    }
    return true
  })
}

async function linesOf(trx: Transaction<CatalogDb>, key: string): Promise<ReservedLine[]> {
  const rows = await trx
    .selectFrom('reservation_lines')
    .selectAll()
    .where('reservation_key', '=', key)
    .execute()
  return rows.map((r) => ({
    productId: r.product_id,
    quantity: r.quantity,
    name: r.name,
    priceCents: r.price_cents,
  }))
}

function signature(items: ReservationItem[]): string {
  return items
    .map((i) => `${i.productId}*${i.quantity}`)
    .sort()
    .join(',')
}
