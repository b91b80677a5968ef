import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase, type ServiceDatabase } from './database.ts'
import { type OutboxTable, outboxMigration, startOutboxRelay, writeOutbox } from './outbox.ts'

interface Db extends OutboxTable {
  things: { id: string }
}

const migrations = {
  '0001-things': {
    up: async (db: import('kysely').Kysely<any>) => {
      await db.schema
        .createTable('things')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .execute()
    },
  },
  '0100-outbox': outboxMigration,
}

const open: { db: ServiceDatabase<Db>; dir: string }[] = []
afterEach(async () => {
  for (const { db, dir } of open.splice(0)) {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

async function sqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-'))
  const db = await openDatabase<Db>('things', migrations, {
    kind: 'sqlite',
    file: join(dir, 'things.sqlite'),
  })
  open.push({ db, dir })
  return db.db
}

describe('the outbox', () => {
  it('publishes what committed with its data, in order, with its id, once', async () => {
    const db = await sqlite()
    const ids: string[] = []
    for (const n of [1, 2, 3]) {
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('things')
          .values({ id: `t${n}` })
          .execute()
        ids.push(await writeOutbox(trx, 'thing.made', { n }))
      })
    }
    const published: [string, unknown, string][] = []
    const relay = startOutboxRelay({ db: () => db, publish: async (...p) => void published.push(p) })
    try {
      expect(await relay.flush()).toBe(3)
      expect(await relay.flush()).toBe(0)
    } finally {
      await relay.stop()
    }
    expect(published).toEqual(ids.map((id, i) => ['thing.made', { n: i + 1 }, id]))
  })

  it('publishes nothing of a transaction that rolled back', async () => {
    const db = await sqlite()
    await expect(
      db.transaction().execute(async (trx) => {
        await writeOutbox(trx, 'thing.made', { n: 1 })
        throw new Error('the data write failed')
      }),
    ).rejects.toThrow('the data write failed')
    const relay = startOutboxRelay({ db: () => db, publish: async () => {} })
    try {
      expect(await relay.flush()).toBe(0)
    } finally {
      await relay.stop()
    }
  })

  it('keeps a row whose publish failed and sends it on a later pass with the same id', async () => {
    const db = await sqlite()
    const id = await writeOutbox(db, 'thing.made', { n: 1 })
    let up = false
    const published: string[] = []
    const relay = startOutboxRelay({
      db: () => db,
      publish: async (_e, _p, rowId) => {
        if (!up) throw new Error('server down')
        published.push(rowId)
      },
    })
    try {
      await expect(relay.flush()).rejects.toThrow('server down')
      up = true
      expect(await relay.flush()).toBe(1)
    } finally {
      await relay.stop()
    }
    expect(published).toEqual([id])
  })
})
