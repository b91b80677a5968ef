import { resolve } from 'node:path'
import { type ControlState, loadSystem, readControlState } from '../runtime/index.ts'

export interface StateOptions {
  config?: string
  stateDir?: string
}

/** The state dir named by `--state-dir`, else the one of the config (`-c`, default tessera.config.ts). */
export async function stateDirOf(options: StateOptions): Promise<string> {
  if (options.stateDir) return resolve(options.stateDir)
  const { config, root } = await loadSystem(options.config)
  return resolve(root, config.stateDir ?? '.tessera')
}

export async function controlState(options: StateOptions): Promise<ControlState> {
  return readControlState(await stateDirOf(options))
}
