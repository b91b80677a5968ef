import { afterAll, beforeAll, expect, it } from 'vitest'
import { until } from '../runtime/support.ts'
import { type DeadLettersSystem, startDeadLettersSystem } from './dead-letters-system.ts'

// The same operator's path on the socket transport: the control API and CLI code to
// `Transport.durable`, here the event store the supervisor serves (decision 0026).
let system: DeadLettersSystem
beforeAll(async () => {
  system = await startDeadLettersSystem('socket')
  system.breakBooks(true)
}, 120_000)
afterAll(() => system?.close(), 60_000)

it('lists, replays to the failing service only, and discards dead letters on the socket transport', {
  timeout: 120_000,
}, async () => {
  const { tessera, count } = system
  for (const n of [1, 2]) await system.sell(n)
  await system.deadUntil(2, 'sales 1 and 2 dead-lettered by books')
  const dead = await system.deadJson()
  expect(dead.map((d) => [d.key, d.service, d.deliveries, d.error]).sort()).toEqual([
    ['books:sale-1', 'books', 2, 'Error: books is broken'],
    ['books:sale-2', 'books', 2, 'Error: books is broken'],
  ])
  expect(JSON.parse((await tessera('events', 'show', 'books:sale-1')).stdout)).toMatchObject({
    key: 'books:sale-1',
    envelope: { id: 'sale-1', event: 'sale.made', service: 'till', payload: { n: 1 } },
  })

  system.breakBooks(false)
  expect(await tessera('events', 'replay', 'books:sale-1', 'books:sale-99')).toMatchObject({
    stdout: 'replayed books:sale-1\nnot found books:sale-99\n1 replayed, 1 not found\n',
    code: 1,
  })
  expect(await tessera('events', 'discard', 'books:sale-2')).toMatchObject({
    stdout: 'discarded books:sale-2\n1 discarded, 0 not found\n',
    code: 0,
  })
  await until(() => count('books', 'handled sale-1') === 1, 'books to handle the replay', 30_000)
  expect(await system.deadJson()).toEqual([])
  // A later sale handled by both: both consumers flow, and nothing else came.
  await system.sell(3)
  await until(
    () => count('books', 'handled sale-3') === 1 && count('audit', 'handled sale-3') === 1,
    'sale-3 handled by both',
    30_000,
  )
  expect(count('books', 'attempt sale-1')).toBe(3)
  expect(count('books', 'handled sale-1')).toBe(1)
  expect(count('books', 'attempt sale-2')).toBe(2)
  expect(count('books', 'handled sale-2')).toBe(0)
  await until(
    () => [1, 2].every((n) => count('audit', `handled sale-${n}`) === 1),
    'audit to handle sales 1 and 2',
    30_000,
  )
  for (const n of [1, 2]) expect(count('audit', `attempt sale-${n}`)).toBe(1)
})
