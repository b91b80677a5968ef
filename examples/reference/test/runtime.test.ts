import { createSupervisor } from 'tessera/runtime'
import { expect, it } from 'vitest'
import { parsePrometheus, samples, total } from '../../../src/metrics/testing/parse-prometheus.ts'
import type { AuthService } from '../services/auth/service.ts'
import type { CatalogService } from '../services/catalog/service.ts'
import type { NotificationsService } from '../services/notifications/service.ts'
import type { OrdersService } from '../services/orders/service.ts'
import { eventually, principalOf, tempSqlite } from './helpers.ts'
import { referenceUnderRuntime } from './under-runtime.ts'

// The services as the runtime runs them: one process per instance over the socket
// transport, each opening its database from the environment; two orders and two catalog
// instances share their SQLite files.
it('runs under the runtime: concurrent retries of one order across instances make one order', async () => {
  using temp = tempSqlite()
  await using supervisor = createSupervisor(referenceUnderRuntime(temp.dir))
  expect((await supervisor.up()).failed).toEqual([])

  const client = supervisor.caller.client.bind(supervisor.caller)
  const tokens = await client<AuthService>('auth').register({
    email: 'ada@example.com',
    password: 'correct horse battery',
    name: 'Ada',
  })
  const as = { principal: await principalOf(tokens.accessToken) }
  const place = () =>
    client<OrdersService>('orders').place(
      { idempotencyKey: 'runtime-1', items: [{ productId: 'tea-sencha', quantity: 2 }] },
      as,
    )
  const placed = await Promise.all([place(), place(), place(), place()])
  expect(new Set(placed.map((o) => o.id)).size).toBe(1)
  expect((await client<CatalogService>('catalog').get({ id: 'tea-sencha' })).stock).toBe(98)
  await eventually(async () => {
    const { items } = await client<NotificationsService>('notifications').list({}, as)
    return items.length === 2 ? items : undefined
  })

  // The system's metrics (what GET /metrics serves): the four calls counted where they
  // ran, orders' own calls to catalog with orders as the caller, process series per instance.
  const parsed = parsePrometheus((await supervisor.metrics()).text)
  expect(total(parsed, 'tessera_handled_total', { service: 'orders', action: 'place' })).toBe(4)
  expect(total(parsed, 'tessera_calls_total', { caller: 'orders', service: 'catalog' })).toBeGreaterThan(0)
  for (const unit of supervisor.status().units)
    for (const instance of unit.instances)
      expect(samples(parsed, 'process_resident_memory_bytes', { instance: instance.label })).toHaveLength(1)
}, 60_000)
