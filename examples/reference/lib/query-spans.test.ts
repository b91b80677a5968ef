import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect, sql } from 'kysely'
import type { Context } from 'tessera/contract'
import { describe, expect, it } from 'vitest'
import { QuerySpans, querySpanLog } from './query-spans.ts'

interface Ended {
  name: string
  attributes: Record<string, unknown>
  error: unknown
}

/** Just the part of a Context the plugin uses: spans, recorded as they end. */
function recordingContext(ended: Ended[]): Context {
  return {
    startSpan: (name: string, attributes: Record<string, unknown>) => ({
      end: (error?: unknown) => ended.push({ name, attributes, error }),
    }),
  } as unknown as Context
}

interface DB {
  items: { id: number; name: string }
}

describe('QuerySpans', () => {
  it('ends each query’s span, a failed one with its error', async () => {
    const db = new Kysely<DB>({
      dialect: new SqliteDialect({ database: new SQLite(':memory:') }),
      log: querySpanLog,
    })
    await sql`create table items (id integer primary key, name text not null)`.execute(db)
    const ended: Ended[] = []
    const traced = db.withPlugin(new QuerySpans(recordingContext(ended), 'sqlite'))

    await traced.insertInto('items').values({ id: 1, name: 'a' }).execute()
    await expect(traced.insertInto('items').values({ id: 1, name: 'b' }).execute()).rejects.toThrow(/UNIQUE/)
    expect(await traced.selectFrom('items').select('name').execute()).toEqual([{ name: 'a' }])
    await db.destroy()

    expect(ended.map((e) => [e.name, e.attributes['db.collection.name'], e.error === undefined])).toEqual([
      ['INSERT items', 'items', true],
      ['INSERT items', 'items', false],
      ['SELECT items', 'items', true],
    ])
    expect(String(ended[1]!.error)).toMatch(/UNIQUE constraint failed/)
  })
})
