import { loadSystem } from '../config/index.ts'
import {
  type ControlServer,
  type ControlState,
  controlToken,
  removeControlState,
  startControlServer,
  writeControlState,
} from '../control/index.ts'
import { ensurePrivateDir } from '../files/index.ts'
import { type Agent, type AgentOptions, startAgent } from './agent.ts'
import { logsQueryOf } from './host-logs.ts'

export interface StartHostOptions extends Omit<AgentOptions, 'config' | 'root'> {
  /** Path of the system config. Default `tessera.config.ts` in the working directory. */
  configFile?: string
  /** Called once a `down` arrived through the control API and this host has left. */
  onDown?: () => void
}

export interface RunningHost extends AsyncDisposable {
  readonly agent: Agent
  readonly control: ControlServer
  readonly state: ControlState
  /** Hands this host's slots to the others, drains, closes the control API. Idempotent. */
  close(): Promise<void>
}

/**
 * What `tessera up --host NAME` does: loads the config, starts this host's agent, and
 * opens the control API (127.0.0.1, the host's own token and `control.json` in
 * `<stateDir>/hosts/<host>/`) over the agent's system-wide supervisor, plus `POST /move
 * {unit, to}` and `POST /logs {units, level, requestId, traceId, since, limit}` (every host's). If starting fails, what was started is stopped before the error surfaces.
 */
export async function startHostSystem(options: StartHostOptions): Promise<RunningHost> {
  const { config, root } = await loadSystem(options.configFile)
  const agent = await startAgent({ ...options, config, root })
  let control: ControlServer | undefined
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      await agent.close()
      await control?.close()
      await removeControlState(agent.local.stateDir)
    })()
    return closing
  }
  try {
    ensurePrivateDir(agent.local.stateDir)
    control = await startControlServer({
      supervisor: agent.supervisor,
      token: controlToken(agent.local.stateDir),
      routes: {
        '/move': (b, p) => agent.move(String(b.unit ?? ''), String(b.to ?? ''), p),
        // `tessera logs --host`: every host's lines (POST: the dashboard's GET /logs stays this host's).
        '/logs': (b) => agent.logs(logsQueryOf(b)),
      },
      onDown: () => {
        void close().then(() => options.onDown?.())
      },
    })
    const state: ControlState = {
      pid: process.pid,
      system: config.name,
      port: control.port,
      token: control.token,
      stateDir: agent.local.stateDir,
      logsDir: agent.local.logsDir,
    }
    await writeControlState(state)
    return { agent, control, state, close, [Symbol.asyncDispose]: close }
  } catch (err) {
    await close()
    throw err
  }
}
