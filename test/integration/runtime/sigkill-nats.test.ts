import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, startNatsServer } from '../../support/nats-server.ts'
import type { UsersService } from './fixtures/users.ts'
import { runSystem, sleep, startLoad, until } from './support.ts'

let nats: NatsServer
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(() => nats?.stop())

describe('an instance killed with SIGKILL under load (NATS transport)', () => {
  it('fails no idempotent call and is replaced by a ready instance', { timeout: 40_000 }, async () => {
    await using sys = await runSystem({
      name: 'killnats',
      transport: { kind: 'nats', servers: nats.url },
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
  })
})
