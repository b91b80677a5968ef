import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, startNatsServer } from '../../support/nats-server.ts'
import { expectNothingHungOrLost, sleep, startPair, underLoad } from './outage-load.ts'

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

    // Before the fix every call issued during an outage hung to its deadline.
    expectNothingHungOrLost({ read, add, runs }, 200)

    // No instance was restarted, and discovery found the callee again.
    expect(pair.callee.exitCode).toBeNull()
    expect(pair.client.registry.endpoints('counter').length).toBe(1)
  })
})
