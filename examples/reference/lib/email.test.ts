import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { describe, expect, it } from 'vitest'
import { normalizeEmail } from './email.ts'
import { normalizeStoredEmails } from './email-migration.ts'

describe('normalizeEmail', () => {
  it('folds case and compatibility forms (NFKC) to one spelling', () => {
    expect(normalizeEmail('Boss@Example.com')).toBe('boss@example.com')
    expect(normalizeEmail('\uFF22oss@\uFF25xample.com')).toBe('boss@example.com')
    expect(normalizeEmail('\u212Aim@example.com')).toBe('kim@example.com') // KELVIN SIGN
  })

  it('refuses, as VALIDATION on /email, what is no address once normalized', () => {
    expect(() => normalizeEmail('eve\uFF20boss@example.com')).toThrow(
      expect.objectContaining({
        code: 'VALIDATION',
        data: expect.objectContaining({ errors: [expect.objectContaining({ path: '/email' })] }),
      }),
    )
  })
})

describe('normalizeStoredEmails', () => {
  it('rewrites rows stored only lowercased, and leaves a row alone whose spelling another holds', async () => {
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) })
    await db.schema
      .createTable('t')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.unique())
      .execute()
    await db
      .insertInto('t')
      .values([
        { id: 'a', email: '\uFF42oss@example.com' },
        { id: 'b', email: 'kim@example.com' },
        { id: 'c', email: '\u212Aim@example.com' },
      ])
      .execute()
    expect(await normalizeStoredEmails(db, 't', 'id')).toEqual(['c'])
    const rows = await db.selectFrom('t').selectAll().orderBy('id').execute()
    expect(rows.map((r) => r.email)).toEqual(['boss@example.com', 'kim@example.com', '\u212Aim@example.com'])
    await db.destroy()
  })
})
