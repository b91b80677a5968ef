// In-process call rate: a typed, validated Tessera action vs a plain async function
// vs Moleculer's local broker.call with parameter validation, in the same run.
import { Type as T } from '@sinclair/typebox'
import { ServiceBroker } from 'moleculer'
import { createBroker } from '../src/broker/index.ts'
import { defineService } from '../src/contract/index.ts'
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
    },
  })
  await mol.start()
  rows.push({
    group,
    name: 'moleculer 0.14 broker.call',
    value: await rate(() => mol.call('math.add', { a: 1, b: 2 }), { ms }),
    unit: 'calls/s',
  })
  await mol.stop()

  const broker = createBroker({ services: [math], validateOutput: false })
  await broker.start()
  const client = broker.client<typeof math>('math')
  rows.push({
    group,
    name: 'tessera client (input validated)',
    value: await rate(() => client.add({ a: 1, b: 2 }), { ms }),
    unit: 'calls/s',
    baseline: 'moleculer 0.14 broker.call',
    aim: '>= 2x moleculer',
  })
  await broker.stop()
  return rows
}
