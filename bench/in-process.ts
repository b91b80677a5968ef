// In-process call rate: a typed, validated Tessera action vs a plain async function
// vs Moleculer's local broker.call with parameter validation, in the same run, by calls/s
// and by CPU time per call.
import { Type as T } from '@sinclair/typebox'
import { ServiceBroker } from 'moleculer'
import { createBroker } from 'tessera/broker'
import { defineService } from 'tessera/contract'
import { cpuRate, medianOf, rate } from './lib/measure.ts'
import { moleculerName } from './lib/moleculer.ts'
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

  // Interleaved short rounds (the order reversed every other one), each figure the median
  // of its rounds: on a shared 2-core machine a burst of outside load then hurts all alike.
  // Caller and callee share this process, so its CPU time per call is the cost of a call.
  const rounds = 5
  const contenders = {
    moleculer: () => mol.call('math.add', { a: 1, b: 2 }),
    tessera: () => client.add({ a: 1, b: 2 }),
    moleculerAsync: () => mol.call('math.addAsync', { a: 1, b: 2 }),
    tesseraAsync: () => client.addAsync({ a: 1, b: 2 }),
  }
  type Who = keyof typeof contenders
  const names = Object.keys(contenders) as Who[]
  const rates = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Who, number[]>
  const cpus = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Who, number[]>
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse()
    for (const who of order) {
      const got = await cpuRate(contenders[who], { ms: ms / rounds, warmupMs: round === 0 ? 300 : 50 })
      rates[who].push(got.rate)
      cpus[who].push(got.cpuMicros * 1_000)
    }
  }
  await mol.stop()
  await broker.stop()
  const M = `${moleculerName} broker.call`
  const MA = `${moleculerName}, async handler`
  const label: Record<Who, string> = {
    moleculer: M,
    tessera: 'tessera client (input validated)',
    moleculerAsync: MA,
    tesseraAsync: 'tessera, async handler',
  }
  const against: Partial<Record<Who, { baseline: string; times: number }>> = {
    tessera: { baseline: M, times: 2 },
    tesseraAsync: { baseline: MA, times: 2.5 },
  }
  const cpuGroup = `${group}, CPU per call`
  for (const who of names) {
    const r = medianOf(rates[who])
    const c = medianOf(cpus[who])
    const vs = against[who]
    const base: Who = who === 'tessera' ? 'moleculer' : 'moleculerAsync'
    const aim = `>= ${vs?.times}x moleculer`
    rows.push({
      group,
      name: label[who],
      value: r.median,
      spread: r.spread,
      unit: 'calls/s',
      ...(vs ? { baseline: vs.baseline, aim, met: r.median >= vs.times * medianOf(rates[base]).median } : {}),
    })
    rows.push({
      group: cpuGroup,
      name: label[who],
      value: c.median,
      spread: c.spread,
      unit: 'ns',
      lowerIsBetter: true,
      ...(vs
        ? {
            baseline: vs.baseline,
            aim: `${aim} (by CPU per call)`,
            met: medianOf(cpus[base]).median >= vs.times * c.median,
          }
        : {}),
    })
  }
  return rows
}
