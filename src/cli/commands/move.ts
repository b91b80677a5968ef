import { controlClient } from '../../runtime/index.ts'
import { out } from '../output.ts'
import { controlState, type StateOptions } from '../state.ts'

/**
 * `tessera move <unit> --to <host>`: through this host's agent, every instance of the
 * unit moves to `host`, one at a time: started there, ready and seen by callers, then
 * the old one drains (docs/hosts.md).
 */
export async function move(unit: string, options: StateOptions & { to: string }): Promise<void> {
  const c = controlClient(await controlState(options))
  const result = await c.run('move', { unit, to: options.to }, (m) => out.line(`  ${m}`))
  out.line(String(result))
}
