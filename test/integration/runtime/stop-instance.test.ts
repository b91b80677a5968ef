import { describe, expect, it } from 'vitest'
import { controlClient, startControlServer } from '../../../src/runtime/index.ts'
import { runSystem } from './support.ts'

describe('stopping one instance by its label', () => {
  it('drains it (SIGTERM), restarts its slot and answers once the replacement serves', async () => {
    await using sys = await runSystem({
      name: 'stopone',
      services: { users: { entry: './users.ts', instances: 2 } },
    })
    const [first, second] = sys.sup.status().units[0]!.instances
    const lines: string[] = []
    await sys.sup.stopInstance('users#1', {}, (line) => lines.push(line))
    const after = sys.sup.status().units[0]!
    expect(after.instances.map((i) => [i.label, i.state])).toEqual([
      ['users#1', 'ready'],
      ['users#2', 'ready'],
    ])
    expect(after.instances[0]!.pid).not.toBe(first!.pid)
    expect(after.instances[1]!.pid).toBe(second!.pid) // the other one untouched
    expect(after.restarts).toBe(1)
    expect(lines).toEqual([
      `users: users#1: sending SIGTERM (pid ${first!.pid})`,
      'users: users#1: exited (code 0)',
      `users: users#1: replacement ready (pid ${after.instances[0]!.pid})`,
    ])
    expect(sys.events).toContainEqual(
      expect.objectContaining({
        type: 'crashed',
        instance: 'users#1',
        reason: 'stopped by an operator (SIGTERM)',
      }),
    )
  })

  it('kills with SIGKILL through the control API, and names unknown labels', async () => {
    await using sys = await runSystem({ name: 'killone', services: { users: { entry: './users.ts' } } })
    await using control = await startControlServer({ supervisor: sys.sup })
    const client = controlClient(control)
    const before = sys.sup.status().units[0]!.instances[0]!.pid
    const lines: string[] = []
    await client.run('stop-instance', { instance: 'users#1', kill: true }, (l) => lines.push(l))
    expect(lines[1]).toBe('users: users#1: exited (SIGKILL)')
    const now = sys.sup.status().units[0]!.instances[0]!
    expect(now.state).toBe('ready')
    expect(now.pid).not.toBe(before)
    await expect(client.run('stop-instance', { instance: 'users#9' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
    await expect(client.run('stop-instance', { instance: 'nobody#1' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
  })
})
