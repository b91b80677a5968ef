import { describe, expect, it } from 'vitest'
import type { UsersService } from './fixtures/users.ts'
import { runSystem, sleep, startLoad, until } from './support.ts'

describe('graceful down under load', () => {
  it('answers every call the system accepted before it stopped', { timeout: 40_000 }, async () => {
    await using sys = await runSystem({
      name: 'down',
      services: { users: { entry: './users.ts', instances: 2 } },
    })
    const users = sys.client.client<UsersService>('users')
    // Long handlers: the drain must wait for them, not cut them off.
    const load = startLoad(() => users.touch({ delayMs: 300 }), 8)
    await sleep(700)
    await sys.sup.down()
    const result = await load.stop()

    // Once every instance has left, new calls find none (UNAVAILABLE before sending):
    // those were never accepted. Anything else would be an accepted call lost.
    const lost = result.failures.filter((f) => !/no instance of users is available/.test(f))
    expect(lost).toEqual([])
    expect(result.ok).toBeGreaterThan(10)
  })
})

describe('a crash-looping service', () => {
  it('is reported as such and stops restarting while the others keep serving', {
    timeout: 40_000,
  }, async () => {
    await using sys = await runSystem({
      name: 'loop',
      services: { users: { entry: './users.ts' }, crasher: { entry: './crasher.ts' } },
      restart: { baseDelayMs: 50, maxDelayMs: 200 },
    })
    const users = sys.client.client<UsersService>('users')
    const load = startLoad(() => users.get({ id: '1' }), 4)
    await until(() => sys.events.some((e) => e.type === 'crash-loop'), 'crash loop detected', 30_000)
    await sleep(500)
    const result = await load.stop()

    expect(result.failures).toEqual([])
    expect(result.ok).toBeGreaterThan(10)
    const crasher = sys.sup.status().units.find((u) => u.name === 'crasher')!
    expect(crasher.state).toBe('crash-loop')
    expect(crasher.instances[0]!.state).toBe('crash-loop')
    expect(crasher.restarts).toBe(5)
    expect(sys.events.find((e) => e.type === 'crash-loop')).toMatchObject({ unit: 'crasher', crashes: 5 })
    // No restart is scheduled after the verdict.
    const restarts = sys.events.filter((e) => e.type === 'restarting').length
    await sleep(600)
    expect(sys.events.filter((e) => e.type === 'restarting').length).toBe(restarts)
  })
})
