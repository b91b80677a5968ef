import { afterAll, beforeAll, describe, it } from 'vitest'
import { type NatsServer, startNatsServer } from '../../support/nats-server.ts'
import { killOneOfThreeUnderLoad } from './kill-under-load.ts'

let nats: NatsServer
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(() => nats?.stop())

describe('an instance killed with SIGKILL under load (NATS transport)', () => {
  it('fails no idempotent call and is replaced by a ready instance', { timeout: 40_000 }, async () => {
    await killOneOfThreeUnderLoad('killnats', { kind: 'nats', servers: nats.url })
  })
})
