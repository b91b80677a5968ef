import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.ts'

export { freePort }

const CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']

/** Options for a throwaway nats-server on 127.0.0.1. */
export interface NatsServerOptions {
  /** Fixed port (e.g. to restart on the same one); a free port by default. */
  port?: number
  /** Requires these credentials from every client. */
  user?: string
  pass?: string
  /** Server max_payload in bytes; 16 MiB by default so 8 MB messages fit. */
  maxPayload?: number
  /** More server config, appended as is (e.g. a generated `authorization { users: [...] }`). */
  extraConfig?: string
}

/** A running nats-server owned by one test file. */
export interface NatsServer {
  readonly url: string
  readonly port: number
  readonly pid: number
  /** SIGKILLs the server (a crash); resolves once the process has exited. */
  kill(): Promise<void>
  /** Starts it again on the same port with the same config (after `kill`). */
  restart(): Promise<void>
  /** Stops it (SIGTERM, then SIGKILL after 3 s) and removes its temp dir. Idempotent. */
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

// Servers that are still running when the test process exits are killed here, so a
// failing or interrupted test never leaks one.
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
})

/** Path of the nats-server binary; throws with the install command when it is missing. */
export function natsServerBinary(): string {
  const found = CANDIDATES.find((p) => existsSync(p))
  if (!found) {
    throw new Error(
      `nats-server not found (looked in ${CANDIDATES.join(', ')}); install it with: apt-get install -y nats-server`,
    )
  }
  return found
}

/**
 * Starts a real nats-server for a test and resolves once it accepts clients.
 * Stop it in `afterAll` (or `await using`); it is also killed when the test process exits.
 *
 * @example
 * let server: NatsServer
 * beforeAll(async () => { server = await startNatsServer() })
 * afterAll(() => server?.stop())
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = natsServerBinary()
  const port = options.port ?? (await freePort())
  const dir = await mkdtemp(join(tmpdir(), 'tessera-nats-'))
  const config = join(dir, 'server.conf')
  const lines = [`listen: 127.0.0.1:${port}`, `max_payload: ${options.maxPayload ?? 16 * 1024 * 1024}`]
  if (options.user !== undefined) {
    lines.push(
      `authorization { user: ${JSON.stringify(options.user)}, password: ${JSON.stringify(options.pass ?? '')} }`,
    )
  }
  if (options.extraConfig !== undefined) lines.push(options.extraConfig)
  await writeFile(config, `${lines.join('\n')}\n`)

  let child = await launch(bin, config)
  let stopped = false
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid ?? -1
    },
    kill: () => terminate(child, 'SIGKILL'),
    async restart() {
      await terminate(child, 'SIGKILL')
      child = await launch(bin, config)
    },
    async stop() {
      if (stopped) return
      stopped = true
      await terminate(child, 'SIGTERM')
      await rm(dir, { recursive: true, force: true })
    },
    [Symbol.asyncDispose]: () => server.stop(),
  }
  return server
}

// Spawns the server and waits for "Server is ready" on its log (stderr); rejects with
// the log if it exits first or does not get ready within 10 s (e.g. port taken).
async function launch(bin: string, config: string): Promise<ChildProcess> {
  const child = spawn(bin, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  running.add(child)
  child.once('exit', () => running.delete(child))
  let log = ''
  let ready = false
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`nats-server not ready after 10 s:\n${log}`)), 10_000)
    const fail = (err: Error) => {
      clearTimeout(timer)
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
      reject(err)
    }
    child.once('error', fail)
    child.once('exit', (code) => fail(new Error(`nats-server exited with ${code}:\n${log}`)))
    // Keeps draining stderr after ready so a chatty server never blocks on a full pipe.
    child.stderr?.on('data', (chunk: Buffer) => {
      if (ready) return
      log += chunk.toString()
      if (log.includes('Server is ready')) {
        ready = true
        clearTimeout(timer)
        child.removeAllListeners('exit')
        child.once('exit', () => running.delete(child))
        resolve()
      }
    })
  })
  return child
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  process.kill(child.pid, signal)
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL')
    }
  }, 3000)
  await exited
  clearTimeout(timer)
}
