import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, startNatsServer } from '../../support/nats-server.ts'
import { okButNotRun, ranTwice, sleep, startPair, underLoad } from './outage-load.ts'

let nats: NatsServer
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(() => nats?.stop())

describe('a nats-server SIGKILLed under load and restarted 2 s later', () => {
  it('hangs no call: idempotent ones all succeed, others succeed or fail fast, none runs twice', {
    timeout: 40_000,
  }, async () => {
    await using pair = await startPair([nats.url], 'restart')
    const { read, add, runs } = await underLoad(pair, 'restart', async () => {
      await nats.kill()
      await sleep(2000)
      await nats.restart()
    })
    console.info(
      `single server restart: read ${read.ok}/${read.issued} ok, add ${add.ok}/${add.issued} ok, failed ${JSON.stringify(add.failed)}`,
    )

    expect(read.issued).toBeGreaterThan(200)
    expect(add.issued).toBeGreaterThan(200)
    // Before the fix every call issued during the outage (~100 of each) hung to its deadline.
    expect(read.hung).toBe(0)
    expect(add.hung).toBe(0)
    expect(read.failed).toEqual({})
    expect(read.ok).toBe(read.issued)
    // A non-idempotent call in flight at the drop may have run: it fails fast, never retried.
    expect(Object.keys(add.failed).filter((code) => code !== 'UNAVAILABLE')).toEqual([])
    expect(add.ok + (add.failed.UNAVAILABLE ?? 0)).toBe(add.issued)
    expect(ranTwice({ read, add, runs }).filter((key) => key.includes('-add-'))).toEqual([])
    expect(okButNotRun(read, runs)).toEqual([])
    expect(okButNotRun(add, runs)).toEqual([])

    // No instance was restarted, and discovery found the callee again.
    expect(pair.callee.exitCode).toBeNull()
    expect(pair.client.registry.endpoints('counter').length).toBe(1)
  })
})
