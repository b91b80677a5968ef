import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, startNatsServer } from '../../../test/support/nats-server.ts'
import { TesseraError } from '../../errors/index.ts'
import { natsTransport } from './index.ts'
import { nodeInfo, recorder, waitFor } from './testing/recorder.ts'

let server: NatsServer

beforeAll(async () => {
  server = await startNatsServer({ user: 'svc', pass: 's3cret' })
})
afterAll(async () => {
  await server?.stop()
})

async function startError(credentials?: { user: string; pass: string }): Promise<unknown> {
  const t = natsTransport({ servers: server.url, ...(credentials ? { credentials } : {}) })
  try {
    await t.start(nodeInfo('intruder'), recorder().handlers)
  } catch (err) {
    return err
  } finally {
    await t.close()
  }
  return undefined
}

describe('natsTransport credentials', () => {
  it('connects and exchanges messages with the right user and password', async () => {
    const credentials = { user: 'svc', pass: 's3cret' }
    await using a = natsTransport({ servers: server.url, credentials })
    await using b = natsTransport({ servers: server.url, credentials })
    const rb = recorder()
    await a.start(nodeInfo('node-a'), recorder().handlers)
    await b.start(nodeInfo('node-b'), rb.handlers)
    await waitFor(() => a.send('node-b', { kind: 'cancel', id: 1 }), 'a to know b')
    await waitFor(() => rb.messages.length === 1, 'the message')
  })

  it('rejects a wrong password with UNAUTHORIZED and a clear message', async () => {
    const err = await startError({ user: 'svc', pass: 'wrong' })
    expect(err).toBeInstanceOf(TesseraError)
    expect((err as TesseraError).code).toBe('UNAUTHORIZED')
    expect((err as TesseraError).message).toMatch(/rejected the credentials/)
    expect((err as TesseraError).message).toContain(server.url)
  })

  it('rejects a missing password with UNAUTHORIZED', async () => {
    const err = await startError()
    expect((err as TesseraError).code).toBe('UNAUTHORIZED')
  })

  it('rejects with UNAVAILABLE when no server listens', async () => {
    const t = natsTransport({ servers: 'nats://127.0.0.1:1' })
    await expect(t.start(nodeInfo('lonely'), recorder().handlers)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    })
  })
})
