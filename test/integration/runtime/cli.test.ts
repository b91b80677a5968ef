import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { controlClient, readControlState } from '../../../src/runtime/index.ts'
import { fixtures } from './support.ts'

const bin = fileURLToPath(new URL('../../../bin/tessera.mjs', import.meta.url))
const config = join(fixtures, 'tessera.config.ts')
let stateDir: string
let pid: number | undefined

async function tessera(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [bin, ...args, '-c', config], {
    env: { ...process.env, TESSERA_TEST_STATE_DIR: stateDir },
    timeout: 60_000,
  })
  return stdout
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'tessera-cli-'))
  await tessera('up', '--detach')
  pid = (await readControlState(stateDir)).pid
}, 90_000)

afterAll(async () => {
  // Whatever happened in the tests, the background supervisor and its instances go.
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {}
    const end = Date.now() + 20_000
    while (Date.now() < end && alive(pid)) await new Promise((r) => setTimeout(r, 100))
  }
  await rm(stateDir, { recursive: true, force: true })
}, 30_000)

function alive(p: number): boolean {
  try {
    process.kill(p, 0)
    return true
  } catch {
    return false
  }
}

describe('the tessera CLI against a detached system', () => {
  it('keeps the token in a 0600 state file and refuses requests without it', async () => {
    const state = await readControlState(stateDir)
    expect((await stat(join(stateDir, 'control.json'))).mode & 0o777).toBe(0o600)
    const res = await fetch(`http://127.0.0.1:${state.port}/status`)
    expect(res.status).toBe(401)
    const wrong = await controlClient({ port: state.port, token: 'nope' })
      .status()
      .catch((e: Error) => e.message)
    expect(wrong).toMatch(/rejected the token/)
  })

  it('shows status, calls an action, scales, restarts, adds and removes a service', {
    timeout: 90_000,
  }, async () => {
    const status = await tessera('status')
    expect(status).toMatch(/users\s+1\.0\.0\s+users#1\s+ready/)
    expect(status).toMatch(/greeter\s+0\.0\.0\s+greeter#1\s+ready/)

    expect(JSON.parse(await tessera('call', 'greeter.hello', '{"id":"1"}'))).toBe('Hello, user 1!')

    expect(await tessera('scale', 'users=3')).toMatch(/3 instance\(s\)/)
    expect((await tessera('status')).match(/users#\d/g)).toHaveLength(3)

    expect(await tessera('restart', 'greeter')).toMatch(
      /starting replacement[\s\S]*draining old[\s\S]*restart done/,
    )

    const state = await readControlState(stateDir)
    const api = controlClient(state)
    await api.run('add', { name: 'hog', service: { entry: './hog.ts' } })
    expect(await api.run('call', { service: 'hog', action: 'spin', input: { ms: 1 } })).toBeGreaterThan(0)
    await expect(api.run('remove', { unit: 'users' })).rejects.toThrow(/greeter depend\(s\) on users/)
    await tessera('remove', 'hog')
    expect((await api.status()).units.map((u) => u.name)).toEqual(['users', 'greeter'])
  })

  it('keeps logs per service as JSON lines labelled by instance, printed readably', async () => {
    const text = await tessera('logs', 'users')
    expect(text).toMatch(/^\d\d:\d\d:\d\d\.\d{3} users#1 INFO {2}ready services=/m)
    const greeter = (await readFile(join(stateDir, 'logs', 'greeter.log'), 'utf8')).trimEnd().split('\n')
    for (const line of greeter) expect(JSON.parse(line)).toMatchObject({ unit: 'greeter' })
    expect(greeter.some((l) => JSON.parse(l).instance === 'greeter#1')).toBe(true)
  })

  it('brings the system down and the supervisor exits', { timeout: 60_000 }, async () => {
    expect(await tessera('down')).toMatch(/clitest: down/)
    expect(alive(pid!)).toBe(false)
    await expect(readControlState(stateDir)).rejects.toThrow(/no running system/)
  })
})
