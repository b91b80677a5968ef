import { describe, expect, it } from 'vitest'
import { createBroker } from '../../../src/broker/index.ts'
import { TesseraError } from '../../../src/errors/index.ts'
import { natsTransport } from '../../../src/transport/nats/index.ts'
import { startNatsServer } from '../../support/nats-server.ts'
import { ledger, type ShopService, shop } from './fixtures/services.ts'
import { ledgerFile } from './support.ts'

describe('durable events on a nats-server without JetStream', () => {
  it('starts the subscriber (its consumer retried in the background) and fails the durable emit with UNAVAILABLE', {
    timeout: 30_000,
  }, async () => {
    await using nats = await startNatsServer()
    const consumer = createBroker({
      nodeId: 'nojs-ledger',
      services: [ledger(ledgerFile())],
      transport: natsTransport({ servers: nats.url, namespace: 'nojs' }),
    })
    const emitter = createBroker({
      nodeId: 'nojs-shop',
      services: [shop],
      transport: natsTransport({ servers: nats.url, namespace: 'nojs' }),
    })
    try {
      await consumer.start()
      await emitter.start()
      const err = await emitter
        .client<ShopService>('shop')
        .sell({ n: 1 })
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(TesseraError)
      expect((err as TesseraError).code).toBe('UNAVAILABLE')
      expect((err as TesseraError).message).toMatch(/JetStream is not available/)
    } finally {
      await emitter.stop()
      await consumer.stop()
    }
  })
})
