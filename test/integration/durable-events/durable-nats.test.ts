import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Broker, createBroker } from '../../../src/broker/index.ts'
import { natsTransport } from '../../../src/transport/nats/index.ts'
import type { NatsServer } from '../../support/nats-server.ts'
import { until } from '../runtime/support.ts'
import { ledger, type ShopService, shop } from './fixtures/services.ts'
import {
  exactly,
  killChild,
  ledgerFile,
  ledgerLines,
  sell,
  startJetStreamServer,
  startLedger,
  tally,
} from './support.ts'

let nats: NatsServer
beforeAll(async () => {
  nats = await startJetStreamServer()
})
afterAll(() => nats?.stop())

async function startShop(namespace: string): Promise<Broker> {
  const broker = createBroker({
    nodeId: `${namespace}-shop`,
    services: [shop],
    transport: natsTransport({ servers: nats.url, namespace }),
  })
  await broker.start()
  return broker
}

describe('durable events on NATS JetStream', () => {
  it('keeps what is emitted while the consumer is down and delivers each once when it starts', {
    timeout: 60_000,
  }, async () => {
    const file = ledgerFile()
    const emitter = await startShop('down')
    let consumer: ChildProcess | undefined
    try {
      await sell(emitter, 0, 100)
      expect(ledgerLines(file)).toEqual([])
      consumer = await startLedger({ NATS_URL: nats.url, NAMESPACE: 'down', LEDGER_FILE: file })
      await until(() => ledgerLines(file).length >= 100, '100 sales recorded', 30_000)
      await new Promise((r) => setTimeout(r, 2000)) // no late repeats either
      expect(tally(ledgerLines(file), 100)).toEqual(exactly(100))
    } finally {
      await killChild(consumer)
      await emitter.stop()
    }
  })

  it('loses nothing and repeats no effect when the consumer is SIGKILLed mid-stream', {
    timeout: 60_000,
  }, async () => {
    const file = ledgerFile()
    const env = { NATS_URL: nats.url, NAMESPACE: 'sigkill', LEDGER_FILE: file, DELAY_MS: '10' }
    const emitter = await startShop('sigkill')
    let consumer: ChildProcess | undefined = await startLedger(env)
    try {
      await sell(emitter, 0, 300)
      await until(() => ledgerLines(file).length >= 60, '60 sales recorded', 30_000)
      await killChild(consumer)
      const atKill = ledgerLines(file).length
      expect(atKill).toBeLessThan(300)
      consumer = await startLedger(env)
      await until(() => ledgerLines(file).length >= 300, '300 sales recorded', 40_000)
      await new Promise((r) => setTimeout(r, 2500)) // past ackWaitMs: unacked ones came back and were dropped
      expect(tally(ledgerLines(file), 300)).toEqual(exactly(300))
    } finally {
      await killChild(consumer)
      await emitter.stop()
    }
  })

  it('survives a nats-server restart: events stored before and after are all delivered once', {
    timeout: 60_000,
  }, async () => {
    const file = ledgerFile()
    const emitter = await startShop('restart')
    const consumer = await startLedger({ NATS_URL: nats.url, NAMESPACE: 'restart', LEDGER_FILE: file })
    try {
      await sell(emitter, 0, 50)
      await nats.kill()
      await new Promise((r) => setTimeout(r, 1000))
      await nats.restart()
      await sell(emitter, 50, 50)
      await until(() => ledgerLines(file).length >= 100, '100 sales recorded', 40_000)
      await new Promise((r) => setTimeout(r, 2000))
      expect(tally(ledgerLines(file), 100)).toEqual(exactly(100))
    } finally {
      await killChild(consumer)
      await emitter.stop()
    }
  })

  it('redelivers a failed handler with backoff, then dead-letters it with the error after maxDeliver', {
    timeout: 30_000,
  }, async () => {
    const file = ledgerFile()
    const transport = natsTransport({ servers: nats.url, namespace: 'dead' })
    const emitter = createBroker({ nodeId: 'dead-shop', services: [shop], transport })
    await emitter.start()
    // Fails the first try of every event: the second (after 100 ms) records it.
    const consumer = createBroker({
      nodeId: 'dead-ledger',
      services: [ledger(file, 0, 1)],
      transport: natsTransport({ servers: nats.url, namespace: 'dead' }),
    })
    await consumer.start()
    try {
      await sell(emitter, 0, 5)
      await emitter.client<ShopService>('shop').sell({ n: -1 })
      await until(() => ledgerLines(file).length >= 5, '5 sales recorded after one retry each')
      let dead = await transport.durable?.dead('ledger')
      for (let i = 0; i < 50 && dead?.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 200))
        dead = await transport.durable?.dead('ledger')
      }
      expect(dead).toHaveLength(1)
      expect(dead?.[0]).toMatchObject({
        service: 'ledger',
        deliveries: 3,
        envelope: { event: 'sale.made', service: 'shop', payload: { n: -1 } },
      })
      expect(dead?.[0]?.error).toContain('sale -1 refused (try 3)')
      expect(await transport.durable?.dead('nobody')).toEqual([])
      expect(tally(ledgerLines(file), 5)).toEqual({ lines: 5, missing: [], duplicateIds: 0, duplicateNs: 0 })
    } finally {
      await consumer.stop()
      await emitter.stop()
    }
  })
})
