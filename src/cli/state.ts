import { join, resolve } from 'node:path'
import { type ControlState, loadSystem, readControlState } from '../runtime/index.ts'

export interface StateOptions {
  config?: string
  stateDir?: string
  /** The agent of this host of a system over many hosts (`up --host`): its state is `<stateDir>/hosts/<host>`. */
  host?: string
}

/**
 * The state dir named by `--state-dir`, else the one of the config (`-c`, default
 * tessera.config.ts), or with `--host` (or `TESSERA_HOST`) that host agent's beneath it.
 */
export async function stateDirOf(options: StateOptions): Promise<string> {
  if (options.stateDir) return resolve(options.stateDir)
  const { config, root } = await loadSystem(options.config)
  const dir = resolve(root, config.stateDir ?? '.tessera')
  const host = options.host ?? process.env.TESSERA_HOST
  return host ? join(dir, 'hosts', host) : dir
}

export async function controlState(options: StateOptions): Promise<ControlState> {
  return readControlState(await stateDirOf(options))
}
