import { spawn } from 'node:child_process'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  describeEvent,
  ensurePrivateDir,
  formatLogRecord,
  readControlState,
  startSystem,
  watchUnits,
} from '../../runtime/index.ts'
import { out, whenStdoutCloses } from '../output.ts'
import { type StateOptions, stateDirOf } from '../state.ts'
import { dashboardUrl } from './dashboard.ts'

export interface UpOptions extends StateOptions {
  detach?: boolean
  quiet?: boolean
}

const bin = fileURLToPath(new URL('../../../bin/tessera.mjs', import.meta.url))

/**
 * `tessera up`: runs the system in this process, printing events and instance logs,
 * until SIGINT/SIGTERM or `tessera down` (both drain first). `--detach` starts the same
 * in a background process (its output in `<stateDir>/up.log`) and returns once it is up.
 */
export async function up(options: UpOptions, dev = false): Promise<void> {
  if (options.detach) return detach(options)
  // While `up` runs, its progress callback prints each step of a unit (and the steps that
  // are no event: a unit not started, or failed); the same steps also arrive as `progress`
  // events, printed only once `up` is done (operations through the control API, dev rolls).
  // Signals are taken from the first moment: one that arrives while the system is still
  // starting drains it as soon as it is up, rather than killing the supervisor mid-start
  // and leaving its instances behind.
  let stopping: string | undefined
  let shutdown = (signal: string) => {
    stopping ??= signal
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  let starting = true
  const running = await startSystem({
    ...(options.config ? { configFile: options.config } : {}),
    onEvent: (e) => {
      if (!(starting && e.type === 'progress')) out.line(`tessera: ${describeEvent(e)}`)
    },
    ...(options.quiet ? {} : { onLog: (_label, _line, record) => out.line(formatLogRecord(record)) }),
    progress: (m) => out.line(`tessera: ${m}`),
    onDown: () => process.exit(0),
  })
  starting = false
  const { state, failed } = running
  // Watching before saying it is up: a change made the moment after that line is seen.
  const stopWatching = dev
    ? watchUnits(running.supervisor, {
        onChange: (unit, file) => out.line(`tessera: ${file} changed: rolling ${unit}`),
        onRolled: (unit, err) =>
          out.line(`tessera: ${unit} ${err ? `kept the old version: ${err.message}` : 'rolled'}`),
        onWarning: (message) => out.error(`tessera: ${message}`),
      })
    : () => {}
  out.line(
    `tessera: ${state.system} is up; control API on 127.0.0.1:${state.port} (${state.stateDir}/control.json)`,
  )
  out.line(
    `tessera: dashboard ${dashboardUrl(state.port)} (log in with the "token" field of ${state.stateDir}/control.json)`,
  )
  if (failed.length > 0) out.error(`tessera: not running: ${failed.join(', ')}`)
  let drained = false
  shutdown = (signal: string) => {
    if (drained) return
    drained = true
    out.line(`tessera: ${signal}: draining`)
    stopWatching()
    void running.close().then(() => process.exit(0))
  }
  // `tessera up | head`: once the reader is gone, drain and exit 0 rather than die on EPIPE.
  whenStdoutCloses(() => shutdown('stdout closed'))
  if (stopping) shutdown(stopping)
}

async function detach(options: UpOptions): Promise<void> {
  const stateDir = await stateDirOf(options)
  ensurePrivateDir(stateDir)
  const log = await open(join(stateDir, 'up.log'), 'a', 0o600)
  await log.chmod(0o600) // an up.log left looser by an older version
  const args = [bin, 'up', '--quiet', ...(options.config ? ['-c', options.config] : [])]
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log.fd, log.fd] })
  child.unref()
  await log.close()
  let exited: number | null = null
  child.once('exit', (code) => (exited = code ?? 1))
  const deadline = Date.now() + 180_000
  for (;;) {
    const state = await readControlState(stateDir).catch(() => undefined)
    if (state?.pid === child.pid) break
    if (exited !== null) throw new Error(`tessera up exited with ${exited}; see ${join(stateDir, 'up.log')}`)
    if (Date.now() > deadline) throw new Error(`not up after 180 s; see ${join(stateDir, 'up.log')}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  out.line(
    `tessera: up in the background (pid ${child.pid}); logs: tessera logs <service> -f; stop: tessera down`,
  )
}
