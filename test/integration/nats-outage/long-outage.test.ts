import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, startNatsServer } from '../../support/nats-server.ts'
import { okButNotRun, ranTwice, sleep, startPair, underLoad } from './outage-load.ts'

let nats: NatsServer
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(() => nats?.stop())

describe('a nats-server down for longer than holdMs', () => {
  it('fails calls fast with UNAVAILABLE once holdMs has passed, and serves again when the server is back', {
    timeout: 40_000,
  }, async () => {
    await using pair = await startPair([nats.url], 'longout', 1000)
    const { read, add, runs } = await underLoad(
      pair,
      'long',
      async () => {
        await nats.kill()
        await sleep(3500)
        await nats.restart()
      },
      2500,
    )
    console.info(
      `3.5 s outage, holdMs 1 s: read ${read.ok}/${read.issued} ok ${JSON.stringify(read.failed)}, add ${add.ok}/${add.issued} ok ${JSON.stringify(add.failed)}`,
    )

    // Nothing waits out its 5 s deadline, though the outage is longer than holdMs.
    expect(read.hung).toBe(0)
    expect(add.hung).toBe(0)
    // Calls made once holdMs has passed find no instance and fail fast.
    expect(Object.keys(read.failed)).toEqual(['UNAVAILABLE'])
    expect(Object.keys(add.failed)).toEqual(['UNAVAILABLE'])
    expect(read.ok + read.failed.UNAVAILABLE!).toBe(read.issued)
    expect(add.ok + add.failed.UNAVAILABLE!).toBe(add.issued)
    expect(ranTwice({ read, add, runs }).filter((key) => key.includes('-add-'))).toEqual([])
    expect(okButNotRun(read, runs)).toEqual([])
    expect(okButNotRun(add, runs)).toEqual([])

    // Discovery found the callee again without restarting it, and calls succeed.
    expect(pair.callee.exitCode).toBeNull()
    expect(pair.client.registry.endpoints('counter').length).toBe(1)
    const after = await underLoad(pair, 'again', async () => {}, 0)
    expect(after.read.ok).toBe(after.read.issued)
    expect(after.add.ok).toBe(after.add.issued)
  })
})
