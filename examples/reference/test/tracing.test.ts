import { createSupervisor, startControlServer } from 'tessera/runtime'
import { expect, it } from 'vitest'
import { eventually, tempSqlite } from './helpers.ts'
import { referenceUnderRuntime } from './under-runtime.ts'

// Issue 10: an order placed through the gateway is one trace across the gateway, orders,
// users and catalog processes, kept by the supervisor and served by its control API route.
it('records an order through the gateway as one trace across every process it touched', async () => {
  using temp = tempSqlite()
  await using sup = createSupervisor(referenceUnderRuntime(temp.dir))
  expect((await sup.up()).failed).toEqual([])
  const { host, port } = sup.address('gateway')!
  const base = `http://${host}:${port}`
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
  const registered = await post('/auth/register', {
    email: 'ada@example.com',
    password: 'correct horse battery',
    name: 'Ada',
  })
  expect(registered.status).toBe(200)
  const requestId = 'trace-me-1'
  const order = await post(
    '/orders',
    { idempotencyKey: 'traced-1', items: [{ productId: 'tea-sencha', quantity: 1 }] },
    { authorization: `Bearer ${registered.body.accessToken as string}`, 'x-request-id': requestId },
  )
  expect(order.status).toBe(200)

  const [summary] = await eventually(() => {
    const found = sup.traces.list({ requestId })
    const services = new Set(found[0]?.services ?? [])
    return ['gateway', 'orders', 'users', 'catalog'].every((s) => services.has(s)) ? found : undefined
  })
  expect(sup.traces.list({ requestId })).toHaveLength(1)
  const spans = sup.traces.get(summary!.traceId)!
  // One tree: a single root (the gateway's request), every other span's parent in the trace.
  const ids = new Set(spans.map((s) => s.spanId))
  const roots = spans.filter((s) => s.parentSpanId === undefined || !ids.has(s.parentSpanId))
  expect(roots.map((s) => [s.service, s.kind])).toEqual([['gateway', 'server']])
  // The hops crossed processes: server spans of orders, users and catalog, each a child of a client span.
  for (const service of ['orders', 'users', 'catalog']) {
    const server = spans.find((s) => s.service === service && s.kind === 'server')
    expect(server, `${service} server span`).toBeDefined()
    const parent = spans.find((s) => s.spanId === server!.parentSpanId)
    expect(parent?.kind).toBe('client')
  }
  // SQL through the data layer: each query a span under the call that made it.
  const queries = spans.filter((s) => s.attributes['db.system.name'] === 'sqlite')
  for (const [service, name] of [
    ['users', 'SELECT users'],
    ['orders', 'INSERT orders'],
  ]) {
    const query = queries.find((q) => q.service === service && q.name === name)
    expect(query, `${name} in ${service}`).toBeDefined()
    const parent = spans.find((s) => s.spanId === query!.parentSpanId)
    expect([parent?.service, parent?.kind]).toEqual([service, 'server'])
  }
  expect(queries.some((q) => q.service === 'catalog')).toBe(true)
  // The control API serves the same trace (to the dashboard, with the token).
  await using control = await startControlServer({ supervisor: sup })
  const served = await fetch(`http://127.0.0.1:${control.port}/traces/${summary!.traceId}`, {
    headers: { authorization: `Bearer ${control.token}` },
  })
  expect(served.status).toBe(200)
  expect(((await served.json()) as { spans: unknown[] }).spans).toHaveLength(spans.length)
}, 90_000)
