// The dead-letters system under a real `tessera up` (fixtures/dead-letters/): on a
// nats-server with JetStream that admits only the per-unit logins the runtime generates,
// or on the socket transport with its event store. Used by dead-letters-*.test.ts.
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type ControlClient,
  controlClient,
  loadNatsLogins,
  readControlState,
  type SystemConfig,
} from '../../../src/runtime/index.ts'
import type { DeadEvent } from '../../../src/transport/index.ts'
import { freePort, type NatsServer, startNatsServer } from '../../support/nats-server.ts'
import { until } from '../runtime/support.ts'

const bin = fileURLToPath(new URL('../../../bin/tessera.mjs', import.meta.url))
const root = fileURLToPath(new URL('./fixtures/dead-letters/', import.meta.url))
const configFile = join(root, 'tessera.config.ts')

export interface DeadLettersSystem {
  readonly stateDir: string
  /** `tessera <args>` against the running system (the real binary): stdout, stderr, exit code. */
  tessera(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }>
  /** The control API in this process: for waiting (cheap), where the CLI is what is tested. */
  api(): Promise<ControlClient>
  /** `till.sell({ n })`: emits `sale.made` with the event id `sale-<n>`. */
  sell(n: number): Promise<unknown>
  /** `tessera events dead --json`, parsed (nothing on stderr). */
  deadJson(): Promise<DeadEvent[]>
  /** Waits until exactly `count` dead letters are listed (through the control API). */
  deadUntil(count: number, what: string): Promise<DeadEvent[]>
  /** How many times `name` (books or audit) wrote `line` (`attempt <id>`, `handled <id>`). */
  count(name: string, line: string): number
  /** Makes books fail (true) or succeed (false) from now on. */
  breakBooks(broken: boolean): void
  close(): Promise<void>
}

export async function startDeadLettersSystem(transport: 'nats' | 'socket'): Promise<DeadLettersSystem> {
  const work = await mkdtemp(join(tmpdir(), `tessera-dl-${transport}-`))
  const stateDir = join(work, 'state')
  const env: NodeJS.ProcessEnv = { ...process.env, DL_STATE_DIR: stateDir, DL_DIR: work }
  delete env.DL_NATS_URL
  let nats: NatsServer | undefined
  let up: ChildProcessWithoutNullStreams | undefined
  const close = async () => {
    if (up && up.exitCode === null) {
      const exited = new Promise((r) => up?.once('exit', r))
      up.kill('SIGTERM')
      await exited
    }
    await nats?.stop()
    await rm(work, { recursive: true, force: true })
  }
  try {
    if (transport === 'nats') {
      const port = await freePort()
      env.DL_NATS_URL = `nats://127.0.0.1:${port}`
      // The same config the file builds from this environment: its logins go into the
      // state dir, where `tessera up` finds them.
      const config: SystemConfig = {
        name: 'deadletters',
        stateDir,
        transport: { kind: 'nats', servers: env.DL_NATS_URL },
        services: {
          till: { entry: './till.ts' },
          books: { entry: './books.ts' },
          audit: { entry: './audit.ts' },
        },
      }
      const logins = await loadNatsLogins(config, root)
      nats = await startNatsServer({
        port,
        extraConfig: `jetstream { store_dir: ${JSON.stringify(join(work, 'js'))} }\n${logins.serverConfig()}`,
      })
    }
    let output = ''
    up = spawn(process.execPath, [bin, 'up', '-q', '-c', configFile], { env })
    up.stdout.on('data', (c: Buffer) => (output += c.toString()))
    up.stderr.on('data', (c: Buffer) => (output += c.toString()))
    await until(() => /is up;/.test(output) || up?.exitCode !== null, 'tessera up', 90_000).catch(() => {})
    if (!/is up;/.test(output)) throw new Error(`tessera up did not come up; it printed:\n${output}`)
  } catch (err) {
    await close()
    throw err
  }

  let control: ControlClient | undefined
  const api = async () => {
    control ??= controlClient(await readControlState(stateDir))
    return control
  }
  const tessera = (...args: string[]) =>
    new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
      execFile(process.execPath, [bin, ...args, '--state-dir', stateDir], { env }, (err, stdout, stderr) =>
        resolve({ stdout, stderr, code: err ? Number((err as { code?: number }).code ?? 1) : 0 }),
      )
    })
  const lines = (name: string): string[] => {
    const file = join(work, `${name}.log`)
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []
  }
  return {
    stateDir,
    tessera,
    api,
    sell: async (n) => (await api()).run('call', { service: 'till', action: 'sell', input: { n } }),
    async deadJson() {
      const r = await tessera('events', 'dead', '--json')
      if (r.stderr !== '') throw new Error(`events dead --json wrote to stderr: ${r.stderr}`)
      return JSON.parse(r.stdout) as DeadEvent[]
    },
    async deadUntil(count, what) {
      const end = Date.now() + 60_000
      for (;;) {
        const dead = await (await api()).dead()
        if (dead.length === count) return dead
        if (Date.now() > end)
          throw new Error(`timed out waiting for ${what}; dead letters: ${JSON.stringify(dead)}`)
        await new Promise((r) => setTimeout(r, 200))
      }
    },
    count: (name, line) => lines(name).filter((l) => l === line).length,
    breakBooks(broken) {
      const flag = join(work, 'broken-books')
      if (broken) writeFileSync(flag, '')
      else rmSync(flag, { force: true })
    },
    close,
  }
}
