import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { freePort } from './nats-server.ts'

const run = promisify(execFile)
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin'
/** Root may not run postgres: the server runs as this OS user, in a dir it owns. */
const OS_USER = 'postgres'

/** A throwaway PostgreSQL server on 127.0.0.1, owned by one test file. */
export interface PostgresServer extends AsyncDisposable {
  readonly port: number
  /** The postmaster's pid (pg_ctl daemonizes it: it is not our child). */
  readonly pid: number
  /** Creates an empty database and returns its URL (user `postgres`, trust auth). */
  createDatabase(name: string): Promise<string>
  /** Stops the server by pid (fast shutdown, SIGKILL after 10 s) and removes its dir. Idempotent. */
  stop(): Promise<void>
}

const running = new Set<number>()
// A test process that dies without afterAll still takes its servers down (immediate shutdown).
process.once('exit', () => {
  for (const pid of running) signal(pid, 'SIGQUIT')
})

/** True when the PostgreSQL 15 binaries are installed (`apt-get install -y postgresql`). */
export function postgresAvailable(): boolean {
  return existsSync(join(BIN, 'pg_ctl'))
}

/**
 * Starts PostgreSQL for a test: `initdb` and `pg_ctl start` as user `postgres` in a temp
 * dir it owns, listening on 127.0.0.1 and a free port, fsync off (tests need no
 * durability). Rejects with the server log when it does not start.
 *
 * @example
 * let server: PostgresServer
 * beforeAll(async () => { server = await startPostgres() }, 60_000)
 * afterAll(() => server?.stop())
 * const url = await server.createDatabase('shop')
 */
export async function startPostgres(): Promise<PostgresServer> {
  if (!postgresAvailable())
    throw new Error(`PostgreSQL not found in ${BIN}; install it: apt-get install -y postgresql`)
  const dir = await mkdtemp(join(tmpdir(), 'tessera-pg-'))
  const { uid, gid } = await osUser(OS_USER)
  await chown(dir, uid, gid)
  const data = join(dir, 'data')
  const asPostgres = (bin: string, args: string[]) =>
    run('runuser', ['-u', OS_USER, '--', join(BIN, bin), ...args], { cwd: dir, timeout: 60_000 })

  const port = await freePort()
  try {
    await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'])
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off`
    await asPostgres('pg_ctl', [
      '-D',
      data,
      '-o',
      options,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-t',
      '30',
      'start',
    ])
  } catch (err) {
    const log = await readFile(join(dir, 'server.log'), 'utf8').catch(() => '')
    await rm(dir, { recursive: true, force: true })
    throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${log}`)
  }
  const pid = Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0])
  running.add(pid)

  let stopped = false
  const server: PostgresServer = {
    port,
    pid,
    async createDatabase(name) {
      const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` })
      await admin.connect()
      try {
        await admin.query(`create database "${name.replaceAll('"', '')}"`)
      } finally {
        await admin.end()
      }
      return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`
    },
    async stop() {
      if (stopped) return
      stopped = true
      signal(pid, 'SIGINT') // fast shutdown: ends sessions, checkpoints, exits
      const until = Date.now() + 10_000
      while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
      if (alive(pid)) signal(pid, 'SIGKILL')
      running.delete(pid)
      await rm(dir, { recursive: true, force: true })
    },
    [Symbol.asyncDispose]: () => server.stop(),
  }
  return server
}

async function osUser(name: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])])
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}
