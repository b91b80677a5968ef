import { join } from 'node:path'
import { out } from '../output.ts'
import { controlState, type StateOptions } from '../state.ts'

/** The dashboard's address for a running system at `port`. */
export const dashboardUrl = (port: number) => `http://127.0.0.1:${port}/`

/**
 * `tessera dashboard`: prints the running system's dashboard URL and where its login
 * token is. Never the token itself: it would end up in terminal scrollback and shell
 * logs; the file is readable by the user running the system only.
 */
export async function dashboard(options: StateOptions): Promise<void> {
  const state = await controlState(options)
  out.line(`dashboard: ${dashboardUrl(state.port)}`)
  out.line(`log in with the "token" field of ${join(state.stateDir, 'control.json')}`)
}
