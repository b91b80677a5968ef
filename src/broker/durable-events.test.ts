import { describe, expect, it } from 'vitest'
import { defineService, durable, subscribe, Type } from '../contract/index.ts'
import { TesseraError } from '../errors/index.ts'
import { createBroker } from './broker.ts'

const shop = defineService({
  name: 'shop',
  events: { 'sale.made': durable(Type.Object({ n: Type.Integer() })), 'sale.seen': Type.Object({}) },
  actions: ({ action }) => ({
    sell: action({
      input: Type.Object({ durable: Type.Boolean() }),
      output: Type.Null(),
      handler: async (input, ctx) => {
        if (input.durable) await ctx.emit('sale.made', { n: 1 })
        else await ctx.emit('sale.seen', {})
        return null
      },
    }),
  }),
})

describe('durable events without a durable transport', () => {
  it('refuses the emit with BAD_REQUEST naming durable(...), and leaves at-most-once events alone', async () => {
    await using_(async (broker) => {
      const client = broker.client<typeof shop>('shop')
      const err = await client.sell({ durable: true }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(TesseraError)
      expect((err as TesseraError).code).toBe('BAD_REQUEST')
      expect((err as TesseraError).message).toMatch(/sale\.made of shop is declared durable\(\.\.\.\)/)
      await expect(client.sell({ durable: false })).resolves.toBeNull()
    })
  })

  it('rejects durable options out of range when the subscription is made', () => {
    expect(() =>
      subscribe<typeof shop>({ 'sale.made': { durable: { maxDeliver: 0 }, handler: () => {} } }),
    ).toThrow(/maxDeliver/)
    expect(
      subscribe<typeof shop>({ 'sale.made': { durable: true, handler: () => {} } })['sale.made']?.durable,
    ).toEqual({
      maxDeliver: 5,
      backoffMs: [1000, 5000, 30000],
      ackWaitMs: 30_000,
    })
  })
})

async function using_(run: (broker: ReturnType<typeof createBroker>) => Promise<void>): Promise<void> {
  const broker = createBroker({ nodeId: 'solo', services: [shop] })
  await broker.start()
  try {
    await run(broker)
  } finally {
    await broker.stop()
  }
}
