import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { openToOthers, withUmask } from '../../../test/support/file-modes.ts'
import { startReference } from '../start.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-ref-modes-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

// Issue 9, finding 7, as the attacker saw it: `npm start` with TESSERA_DATA_DIR outside
// `.tessera` and umask 022 left the data folder 0755 and the SQLite files (the auth WAL
// with the password hashes) 0644. Every file and folder the system makes must be this
// user's only: data, keys, databases and their companions, logs, builds, control.json,
// the socket folder and the sockets.
it('npm start under umask 022 with the data dir outside .tessera leaves nothing another user can read', async () => {
  const dataDir = join(dir, 'srv', 'data') // made by the system, not by the test
  const stateDir = join(dir, 'run', 'state')
  await withUmask(0o022, async () => {
    await using ref = await startReference({
      env: { PORT: '0', TESSERA_DATA_DIR: dataDir, RATE_LIMIT_PER_MINUTE: '10000' },
      stateDir,
    })
    expect(ref.failed).toEqual([])
    const registered = await fetch(`${ref.url}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ada@example.com', password: 'correct horse battery', name: 'Ada' }),
    })
    expect(registered.status).toBe(200)
    const data = await readdir(dataDir)
    expect(data).toEqual(expect.arrayContaining(['auth.sqlite', 'auth.sqlite-wal', 'keys']))
    expect(await readdir(stateDir)).toEqual(expect.arrayContaining(['build', 'control.json', 'logs']))
    const socketDir = (ref.supervisor.transport as { dir: string }).dir
    expect((await readdir(socketDir)).some((f) => f.endsWith('.sock'))).toBe(true)
    expect(await openToOthers(join(dir, 'srv'))).toEqual([])
    expect(await openToOthers(join(dir, 'run'))).toEqual([])
    expect(await openToOthers(socketDir)).toEqual([])
  })
}, 90_000)
