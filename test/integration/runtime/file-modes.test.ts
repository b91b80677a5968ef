import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { createSupervisor, startSystem } from '../../../src/runtime/index.ts'
import { openToOthers, withUmask } from '../../support/file-modes.ts'
import { fixtures } from './support.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-modes-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

// Issue 9, finding 7: with the state dir outside `.tessera` and the usual umask 022,
// nothing the runtime creates may be readable by another local user.
it('creates the state dir, logs, builds, control.json and the socket folder for this user only, whatever the umask', async () => {
  const stateDir = join(dir, 'srv', 'state') // neither exists: the runtime makes both
  // A logs folder and log file left by an older version, open to all: tightened on start.
  await mkdir(join(stateDir, 'logs'), { recursive: true, mode: 0o755 })
  await chmod(join(dir, 'srv'), 0o755)
  await chmod(stateDir, 0o755)
  await writeFile(join(stateDir, 'logs', 'users.log'), 'old\n', { mode: 0o644 })
  process.env.TESSERA_TEST_STATE_DIR = stateDir
  try {
    await withUmask(0o022, async () => {
      await using running = await startSystem({ configFile: join(fixtures, 'tessera.config.ts') })
      expect(running.failed).toEqual([])
      expect(await running.supervisor.caller.call('greeter', 'hello', { id: '1' })).toBeDefined()
      const socketDir = (running.supervisor.transport as { dir: string }).dir
      expect(await readdir(socketDir)).not.toEqual([])
      expect(await readdir(stateDir)).toEqual(expect.arrayContaining(['build', 'control.json', 'logs']))
      expect(await openToOthers(stateDir)).toEqual([])
      expect(await openToOthers(socketDir)).toEqual([])
    })
  } finally {
    delete process.env.TESSERA_TEST_STATE_DIR
  }
}, 60_000)

it('keeps a supervisor started on its own private too: state dir and socket folder made by the runtime', async () => {
  const stateDir = join(dir, 'srv', 'state')
  const socketDir = join(dir, 'srv', 'sockets')
  await withUmask(0o022, async () => {
    await using sup = createSupervisor({
      config: {
        name: 'modes',
        stateDir,
        transport: { kind: 'socket', dir: socketDir },
        services: { users: { entry: './users.ts' } },
      },
      root: fixtures,
    })
    expect(await sup.up()).toEqual({ failed: [] })
    expect((await readdir(socketDir)).some((f) => f.endsWith('.sock'))).toBe(true)
    expect(await openToOthers(join(dir, 'srv'))).toEqual([])
  })
}, 60_000)
