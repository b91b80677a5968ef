import { chmod, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TesseraError } from '../../errors/index.ts'

/** What a running `tessera up` publishes for the CLI: where its control API is and the token. */
export interface ControlState {
  pid: number
  system: string
  port: number
  token: string
  stateDir: string
  logsDir: string
}

export const stateFilePath = (stateDir: string) => join(stateDir, 'control.json')

/** Writes the state file readable by this user only (mode 0600), also when it existed before. */
export async function writeControlState(state: ControlState): Promise<void> {
  const file = stateFilePath(state.stateDir)
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  await chmod(file, 0o600)
}

/** Reads the state file; rejects with UNAVAILABLE when no system runs from this state dir. */
export async function readControlState(stateDir: string): Promise<ControlState> {
  try {
    return JSON.parse(await readFile(stateFilePath(stateDir), 'utf8')) as ControlState
  } catch {
    throw new TesseraError(
      'UNAVAILABLE',
      `no running system found (no ${stateFilePath(stateDir)}); run tessera up`,
    )
  }
}

export async function removeControlState(stateDir: string): Promise<void> {
  await rm(stateFilePath(stateDir), { force: true })
}
