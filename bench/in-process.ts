// In-process call rate: a typed, validated Tessera action vs a plain async function
// vs Moleculer's local broker.call with parameter validation, in the same run.
import { Type as T } from '@sinclair/typebox'
import { ServiceBroker } from 'moleculer'
import { createBroker } from 'tessera/broker'
import { defineService } from 'tessera/contract'
import { rate } from './lib/measure.ts'
import type { Row } from './lib/report.ts'

const math = defineService({
  name: 'math',
  actions: ({ action }) => ({
    add: action({
      input: T.Object({ a: T.Number(), b: T.Number() }),
      output: T.Object({ sum: T.Number() }),
      handler: ({ a, b }) => ({ sum: a + b }),
    }),
    addAsync: action({
      input: T.Object({ a: T.Number(), b: T.Number() }),
      output: T.Object({ sum: T.Number() }),
      handler: async ({ a, b }) => ({ sum: a + b }),
    }),
  }),
})

export async function benchInProcess(ms: number): Promise<Row[]> {
  const group = 'in-process call'
  const rows: Row[] = []

  const plain = async (input: { a: number; b: number }) => ({ sum: input.a + input.b })
  rows.push({
    group,
    name: 'plain async function',
    value: await rate(() => plain({ a: 1, b: 2 }), { ms }),
    unit: 'calls/s',
  })

  const mol = new ServiceBroker({ logger: false, validator: true, metrics: false, tracing: false })
  mol.createService({
    name: 'math',
    actions: {
      add: {
        params: { a: 'number', b: 'number' },
        handler: (ctx: { params: { a: number; b: number } }) => ({ sum: ctx.params.a + ctx.params.b }),
      },
      addAsync: {
        params: { a: 'number', b: 'number' },
        handler: async (ctx: { params: { a: number; b: number } }) => ({ sum: ctx.params.a + ctx.params.b }),
      },
    },
  })
  await mol.start()
  const broker = createBroker({ services: [math], validateOutput: false })
  await broker.start()
  const client = broker.client<typeof math>('math')

  // Alternate the two in short rounds and keep each one's best: on a shared 2-core
  // machine a burst of outside load then hurts both alike instead of one of them.
  const rounds = 3
  const contenders = {
    moleculer: () => mol.call('math.add', { a: 1, b: 2 }),
    tessera: () => client.add({ a: 1, b: 2 }),
    moleculerAsync: () => mol.call('math.addAsync', { a: 1, b: 2 }),
    tesseraAsync: () => client.addAsync({ a: 1, b: 2 }),
  }
  type Who = keyof typeof contenders
  const best: Record<Who, number> = { moleculer: 0, tessera: 0, moleculerAsync: 0, tesseraAsync: 0 }
  const names = Object.keys(contenders) as Who[]
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse()
    for (const who of order) best[who] = Math.max(best[who], await rate(contenders[who], { ms: ms / rounds }))
  }
  await mol.stop()
  await broker.stop()
  rows.push({ group, name: 'moleculer 0.14 broker.call', value: best.moleculer, unit: 'calls/s' })
  rows.push({
    group,
    name: 'tessera client (input validated)',
    value: best.tessera,
    unit: 'calls/s',
    baseline: 'moleculer 0.14 broker.call',
    aim: '>= 2x moleculer',
  })
  rows.push({ group, name: 'moleculer 0.14, async handler', value: best.moleculerAsync, unit: 'calls/s' })
  rows.push({
    group,
    name: 'tessera, async handler',
    value: best.tesseraAsync,
    unit: 'calls/s',
    baseline: 'moleculer 0.14, async handler',
    aim: '>= 2x moleculer',
  })
  return rows
}
