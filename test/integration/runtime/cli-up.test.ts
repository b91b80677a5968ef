import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { fixtures, until } from './support.ts'

const bin = fileURLToPath(new URL('../../../bin/tessera.mjs', import.meta.url))
const config = join(fixtures, 'tessera.config.ts')
const cleanups: (() => Promise<void>)[] = []

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

/** `tessera <command>` in the foreground on the CLI fixture system, its output collected. */
async function foreground(command: 'up' | 'dev') {
  const stateDir = await mkdtemp(join(tmpdir(), 'tessera-cli-up-'))
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [bin, command, '-q', '-c', config], {
    env: { ...process.env, TESSERA_TEST_STATE_DIR: stateDir },
  })
  let output = ''
  child.stdout.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr.on('data', (c: Buffer) => (output += c.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGTERM')
    await exited
    await rm(stateDir, { recursive: true, force: true })
  })
  await until(() => /is up;/.test(output), `${command} is up`, 60_000)
  return {
    stateDir,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM')
      return exited
    },
  }
}

describe('tessera up and dev in the foreground', () => {
  it('prints each step of up once, and the dashboard URL', { timeout: 90_000 }, async () => {
    const up = await foreground('up')
    // `tessera dashboard` prints the same URL and where the token is, never the token.
    const env = { ...process.env, TESSERA_TEST_STATE_DIR: up.stateDir }
    const printed = (await promisify(execFile)(process.execPath, [bin, 'dashboard', '-c', config], { env }))
      .stdout
    const state = JSON.parse(await readFile(join(up.stateDir, 'control.json'), 'utf8'))
    expect(printed).toBe(
      `dashboard: http://127.0.0.1:${state.port}/\nlog in with the "token" field of ${join(up.stateDir, 'control.json')}\n`,
    )
    expect(await up.stop(), up.output()).toBe(0)
    expect(up.output()).not.toContain(state.token)
    const lines = up.output().split('\n')
    expect(lines).toContain(
      `tessera: dashboard http://127.0.0.1:${state.port}/ (log in with the "token" field of ${up.stateDir}/control.json)`,
    )
    expect(lines.filter((l) => /^tessera: users: built in \d+ ms$/.test(l))).toHaveLength(1)
    expect(lines.filter((l) => l === 'tessera: users: starting 2 instance(s)')).toHaveLength(1)
    expect(lines.filter((l) => /^tessera: greeter: built in \d+ ms$/.test(l))).toHaveLength(1)
    expect(lines.filter((l) => l === 'tessera: greeter: starting 1 instance(s)')).toHaveLength(1)
  })

  it('dev ends every message with a newline, rolls included', { timeout: 90_000 }, async () => {
    const dev = await foreground('dev')
    const now = new Date()
    await utimes(join(fixtures, 'greeter.ts'), now, now) // a change to greeter's entry, same content
    await until(
      () => /tessera: greeter (rolled|kept the old version)/.test(dev.output()),
      'greeter rolled',
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; dev printed:\n${dev.output()}`)
    })
    // Events of the roll (progress, instances starting and stopping) follow as they happen.
    expect(dev.output()).toMatch(/tessera: greeter: deployed\n/)
    expect(await dev.stop()).toBe(0)
    const lines = dev.output().trimEnd().split('\n')
    expect(dev.output().endsWith('\n')).toBe(true)
    for (const line of lines) expect(line).toMatch(/^tessera: (?!.*tessera: )/)
    expect(lines).toContain('tessera: greeter rolled')
  })
})
