import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, startNatsServer } from '../../../test/support/nats-server.ts'
import { natsTransport } from './index.ts'
import { capturingLogger, nodeInfo, recorder } from './testing/recorder.ts'

let server: NatsServer
beforeAll(async () => {
  server = await startNatsServer()
})
afterAll(async () => {
  try {
    process.kill(server.pid, 'SIGCONT')
  } catch {}
  await server?.stop()
})

describe('natsTransport close', () => {
  it('ends although the server never answers its drain (a stopped server, a pod whose network went first)', async () => {
    const logger = capturingLogger()
    const t = natsTransport({ servers: server.url, namespace: 'close-1', logger })
    await t.start(nodeInfo('node-a'), recorder().handlers)
    // A SIGSTOPped server keeps the TCP connection open and answers nothing: the drain's
    // flush is never acknowledged, as when the peer's network vanished without a reset.
    process.kill(server.pid, 'SIGSTOP')
    try {
      await t.close()
    } finally {
      process.kill(server.pid, 'SIGCONT')
    }
    expect(logger.warnings).toContain('nats: drain did not finish (server unreachable?), closing')
  })

  it('drains as before when the server answers (no warning)', async () => {
    const logger = capturingLogger()
    const t = natsTransport({ servers: server.url, namespace: 'close-2', logger })
    await t.start(nodeInfo('node-b'), recorder().handlers)
    await t.close()
    expect(logger.warnings).toEqual([])
  })
})
