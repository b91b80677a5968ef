import { loadSystem } from '../config/index.ts'
import { ensurePrivateDir } from '../files/index.ts'
import {
  type ContractMismatch,
  createSupervisor,
  type Supervisor,
  type SupervisorEvent,
  type SupervisorOptions,
} from '../supervisor/index.ts'
import { type ControlServer, startControlServer } from './control-server.ts'
import { controlToken } from './control-token.ts'
import { type ControlState, removeControlState, writeControlState } from './state-file.ts'

export interface StartSystemOptions extends Omit<SupervisorOptions, 'config' | 'root'> {
  /** Path of the system config. Default `tessera.config.ts` in the working directory. */
  configFile?: string
  /** Progress of `up`, one line per step. */
  progress?: (message: string) => void
  /** Called once a `down` arrived through the control API and the system has stopped. */
  onDown?: () => void
}

export interface RunningSystem extends AsyncDisposable {
  readonly supervisor: Supervisor
  readonly control: ControlServer
  readonly state: ControlState
  /** Unit names that failed to start (crash loop) or were skipped because a dependency failed. */
  readonly failed: string[]
  /** Drains the system, closes the control API and removes the state file. Idempotent. */
  close(): Promise<void>
}

/**
 * What `tessera up` does: loads the config, starts every unit, opens the control API
 * on 127.0.0.1 with the system's lasting token (see controlToken) and writes
 * `<stateDir>/control.json` (port and token, mode 0600) for the CLI.
 * If `up` throws, everything already started is stopped before the error surfaces.
 */
export async function startSystem(options: StartSystemOptions = {}): Promise<RunningSystem> {
  const { config, root } = await loadSystem(options.configFile)
  const supervisor = createSupervisor({ ...options, config, root })
  let control: ControlServer | undefined
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      await supervisor.down()
      await control?.close()
      await removeControlState(supervisor.stateDir)
    })()
    return closing
  }
  try {
    ensurePrivateDir(supervisor.stateDir)
    const { failed } = await supervisor.up(options.progress)
    control = await startControlServer({
      supervisor,
      token: controlToken(supervisor.stateDir),
      ...(config.control?.port !== undefined ? { port: config.control.port } : {}),
      onDown: () => {
        void close().then(() => options.onDown?.())
      },
      onContractMismatch: (m) => options.onEvent?.(contractMismatchEvent(m)),
    })
    const state: ControlState = {
      pid: process.pid,
      system: config.name,
      port: control.port,
      token: control.token,
      stateDir: supervisor.stateDir,
      logsDir: supervisor.logsDir,
    }
    await writeControlState(state)
    const running: RunningSystem = {
      supervisor,
      control,
      state,
      failed,
      close,
      [Symbol.asyncDispose]: close,
    }
    return running
  } catch (err) {
    await close()
    throw err
  }
}

/**
 * The event `tessera up` prints for an instance that joined with a breaking contract. The
 * runtime routes to it like any instance: it did not start it (or, its own, restarted it
 * from newer code), so it says so rather than stopping it (decision 0027).
 */
export function contractMismatchEvent(m: ContractMismatch): SupervisorEvent {
  const who = m.own ? 'its own instance' : 'an instance this runtime did not start'
  return {
    type: 'contract-mismatch',
    unit: m.unit,
    node: m.node,
    reason: `${who}, ${m.node}, joined with ${m.service} ${m.version}, which breaks the running ${m.runningVersion} (no deploy checked it; it is routed to like any instance):\n${m.text}`,
  }
}
