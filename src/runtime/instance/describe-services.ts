import { contractOf } from '../../contract/index.ts'
import { isAdapter } from '../adapter.ts'
import { pickEntry } from './load-service.ts'
import type { FromInstance, InstanceEnv } from './protocol.ts'

/**
 * Describe mode (`env.describe`): imports the entries, sends the contracts of the services
 * they define, and exits — 0 once the message is handed to the supervisor, 1 with a
 * `failed` message when an entry does not load. Nothing joins a transport and no
 * `started` hook runs, so describing a build has no effect on the running system.
 */
export async function describeServices(
  load: (entry: string) => Promise<Record<string, unknown>>,
  env: InstanceEnv,
  send: (msg: FromInstance, done?: () => void) => void,
): Promise<never> {
  try {
    const entries = await Promise.all(
      env.services.map(async (spec) => pickEntry(spec, await load(spec.entry))),
    )
    const services = entries.flatMap((e) => (isAdapter(e) ? [] : [contractOf(e)]))
    await new Promise<void>((resolve) => send({ type: 'contract', services }, resolve))
    process.exit(0)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    await new Promise<void>((resolve) => send({ type: 'failed', message }, resolve))
    process.exit(1)
  }
}
