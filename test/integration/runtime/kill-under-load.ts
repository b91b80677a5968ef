import { expect } from 'vitest'
import type { SystemConfig } from '../../../src/runtime/index.ts'
import type { UsersService } from './fixtures/users.ts'
import { runSystem, sleep, startLoad, until } from './support.ts'

/**
 * SIGKILLs one of three `users` instances while eight callers keep calling an
 * idempotent action, waits for the replacement, and checks that no call failed.
 * Returns the supervisor's events for transport-specific checks.
 */
export async function killOneOfThreeUnderLoad(name: string, transport?: SystemConfig['transport']) {
  await using sys = await runSystem({
    name,
    ...(transport ? { transport } : {}),
    services: { users: { entry: './users.ts', instances: 3 } },
  })
  const users = sys.client.client<UsersService>('users')
  const load = startLoad(() => users.get({ id: '1', delayMs: 5 }), 8)
  await sleep(500)

  const victim = sys.sup.unit('users').instances()[1]!
  const oldPid = victim.pid
  victim.kill('test: SIGKILL')
  await until(
    () => sys.sup.status().units[0]!.instances.every((i) => i.state === 'ready' && i.pid !== oldPid),
    'replacement ready',
  )
  await sleep(500)
  const result = await load.stop()

  expect(result.failures).toEqual([])
  expect(result.ok).toBeGreaterThan(50)
  expect(sys.sup.status().units[0]!.restarts).toBe(1)
  return [...sys.events]
}
