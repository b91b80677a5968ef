import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Broker, createBroker } from '../../../src/broker/index.ts'
import type { TesseraError } from '../../../src/errors/index.ts'
import type { Transport } from '../../../src/transport/index.ts'
import { until } from '../runtime/support.ts'
import { ledger, type ShopService, shop } from './fixtures/services.ts'
import {
  exactly,
  killChild,
  ledgerFile,
  ledgerLines,
  type SocketSystem,
  sell,
  startLedger,
  startSocketSystem,
  tally,
} from './support.ts'

// The NATS tests' scenarios (durable-nats.test.ts) on the socket transport, whose event
// store (decision 0026) runs here in a process of its own, as the supervisor serves it.
let system: SocketSystem
beforeAll(async () => {
  system = await startSocketSystem()
})
afterAll(() => system?.kill())

async function startShop(transport: Transport = system.transport()): Promise<Broker> {
  const broker = createBroker({
    nodeId: `shop-${Math.random().toString(36).slice(2, 8)}`,
    services: [shop],
    transport,
  })
  await broker.start()
  return broker
}

describe('durable events on the socket transport (the event store)', () => {
  it('keeps what is emitted while the consumer is down and delivers each once when it starts', {
    timeout: 60_000,
  }, async () => {
    const file = ledgerFile()
    const emitter = await startShop()
    let consumer: ChildProcess | undefined
    try {
      await sell(emitter, 0, 100)
      expect(ledgerLines(file)).toEqual([])
      consumer = await startLedger({ ...system.env, LEDGER_FILE: file }, 'ledger-down')
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
    const env = { ...system.env, LEDGER_FILE: file, DELAY_MS: '10' }
    const emitter = await startShop()
    let consumer: ChildProcess | undefined = await startLedger(env, 'ledger-kill')
    try {
      const selling = sell(emitter, 0, 300)
      await until(() => ledgerLines(file).length >= 60, '60 sales recorded', 30_000)
      await killChild(consumer)
      const atKill = ledgerLines(file).length
      expect(atKill).toBeLessThan(300)
      consumer = await startLedger(env, 'ledger-kill')
      await selling
      await until(() => ledgerLines(file).length >= 300, '300 sales recorded', 40_000)
      await new Promise((r) => setTimeout(r, 2500)) // past ackWaitMs: nothing held comes back twice
      expect(tally(ledgerLines(file), 300)).toEqual(exactly(300))
    } finally {
      await killChild(consumer)
      await emitter.stop()
    }
  })

  it('survives the store process SIGKILLed and restarted on its log: events stored before and after are all delivered once', {
    timeout: 60_000,
  }, async () => {
    const file = ledgerFile()
    const emitter = await startShop()
    // A slow consumer connected throughout: it holds unacked events when the store dies,
    // and must reconnect and subscribe again by itself.
    const consumer = await startLedger(
      { ...system.env, LEDGER_FILE: file, DELAY_MS: '300' },
      'ledger-restart',
    )
    try {
      await sell(emitter, 0, 50)
      await system.kill()
      const atKill = ledgerLines(file).length
      expect(atKill).toBeLessThan(50)
      const refused = await emitter
        .client<ShopService>('shop')
        .sell({ n: 999 })
        .then(
          () => undefined,
          (err: unknown) => (err as TesseraError).code,
        )
      expect(refused).toBe('UNAVAILABLE')
      await system.start()
      await sell(emitter, 50, 50)
      await until(() => ledgerLines(file).length >= 100, '100 sales recorded', 40_000)
      await new Promise((r) => setTimeout(r, 2000))
      expect(tally(ledgerLines(file), 100)).toEqual(exactly(100))
    } finally {
      await killChild(consumer)
      await emitter.stop()
    }
  })

  it('redelivers a failed handler with backoff, dead-letters it with the error after maxDeliver, and replays it', {
    timeout: 30_000,
  }, async () => {
    const file = ledgerFile()
    const transport = system.transport()
    const emitter = await startShop(transport)
    // Fails the first try of every event (the second, 100 ms later, records it) and every try of n < 0.
    let refuseNegative = true
    const consumer = createBroker({
      nodeId: 'dead-ledger',
      services: [ledger(file, 0, 1, () => refuseNegative)],
      transport: system.transport(),
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
      const letter = dead?.[0]
      expect(letter).toMatchObject({
        service: 'ledger',
        deliveries: 3,
        envelope: { event: 'sale.made', service: 'shop', payload: { n: -1 } },
      })
      expect(letter?.key).toBe(`ledger:${letter?.envelope.id}`)
      expect(letter?.error).toContain('sale -1 refused (try 3)')
      expect(await transport.durable?.deadEvent(letter?.key ?? '')).toEqual(letter)
      expect(await transport.durable?.dead('nobody')).toEqual([])
      // Fixed: the replay is delivered with a fresh count (its first try fails as any first try does).
      refuseNegative = false
      expect(await transport.durable?.replay([letter?.key ?? '', 'ledger:unknown'])).toEqual([letter?.key])
      await until(() => ledgerLines(file).length >= 6, 'the replayed sale recorded')
      expect(await transport.durable?.dead()).toEqual([])
      expect(tally(ledgerLines(file), 5)).toMatchObject({ missing: [], duplicateIds: 0 })
      expect(ledgerLines(file).filter((l) => l.n === -1)).toHaveLength(1)
    } finally {
      await consumer.stop()
      await emitter.stop()
    }
  })
})
