import type { Kysely } from 'kysely'
import { normalizeEmail } from './email.ts'

/**
 * Rewrites the `email` column of `table` to `normalizeEmail`'s spelling, for rows stored
 * before emails were normalized (they were only lowercased). A row whose normalized
 * address another row already holds keeps its old spelling, so the migration never
 * fails on the unique index; such a pair needs an administrator (it predates the rule).
 * Returns the keys of the rows left alone.
 */
export async function normalizeStoredEmails(db: Kysely<any>, table: string, key: string): Promise<string[]> {
  const rows = (await db.selectFrom(table).select([key, 'email']).execute()) as Record<string, string>[]
  const taken = new Set(rows.map((r) => r.email))
  const clashes: string[] = []
  for (const row of rows) {
    let normalized: string
    try {
      normalized = normalizeEmail(row.email!)
    } catch {
      continue // not an address once normalized: leave it, it can never log in under another one
    }
    if (normalized === row.email) continue
    if (taken.has(normalized)) {
      clashes.push(row[key]!)
      continue
    }
    await db.updateTable(table).set({ email: normalized }).where(key, '=', row[key]!).execute()
    taken.delete(row.email!)
    taken.add(normalized)
  }
  return clashes
}
