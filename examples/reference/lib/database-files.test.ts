import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Kysely, sql } from 'kysely'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { openToOthers, withUmask } from '../../../test/support/file-modes.ts'
import { openDatabase } from './database.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-db-modes-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const migrations = {
  '001': {
    up: async (db: Kysely<unknown>) => {
      await sql`create table secrets (hash text)`.execute(db)
      await sql`insert into secrets values ('$argon2id$...')`.execute(db)
    },
  },
}

// Issue 9, finding 7: a data dir outside `.tessera` under umask 022 gave 0755 folders
// and 0644 SQLite files, and another local user read the WAL with the password hashes.
it('creates the data folder 0700 and the SQLite file and its -wal/-shm 0600, whatever the umask', async () => {
  const file = join(dir, 'srv', 'data', 'auth.sqlite')
  await withUmask(0o022, async () => {
    const { db, close } = await openDatabase('auth', migrations, { kind: 'sqlite', file })
    try {
      await sql`insert into secrets values ('more')`.execute(db) // the WAL holds it until a checkpoint
      expect(await readdir(join(dir, 'srv', 'data'))).toEqual(
        expect.arrayContaining(['auth.sqlite', 'auth.sqlite-wal', 'auth.sqlite-shm']),
      )
      expect(await openToOthers(join(dir, 'srv'))).toEqual([])
    } finally {
      await close()
    }
  })
})

it('tightens a data folder and database files an older version left open to others', async () => {
  const data = join(dir, 'data')
  await mkdir(data, { mode: 0o755 })
  await chmod(data, 0o755)
  const file = join(data, 'users.sqlite')
  await withUmask(0o022, async () => {
    const first = await openDatabase('users', migrations, { kind: 'sqlite', file })
    await first.close()
    for (const name of await readdir(data)) await chmod(join(data, name), 0o644)
    await writeFile(`${file}-wal`, '', { mode: 0o644 }) // a companion from a crash, looser
    await chmod(data, 0o755)
    const { close } = await openDatabase('users', migrations, { kind: 'sqlite', file })
    try {
      expect(await openToOthers(data)).toEqual([])
    } finally {
      await close()
    }
  })
})
