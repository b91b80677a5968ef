import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Type as T } from '@sinclair/typebox'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createBroker } from '../broker/index.ts'
import { defineService } from '../contract/index.ts'
import { createTracing, type SpanRecord } from './index.ts'

const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const users = defineService({
  name: 'users',
  actions: ({ action }) => ({
    get: action({
      input: T.Object({ id: T.String() }),
      output: T.String(),
      handler: ({ id }) => `user ${id}`,
    }),
  }),
})
type UsersService = typeof users
const orders = defineService({
  name: 'orders',
  actions: ({ action }) => ({
    place: action({
      input: T.Object({ userId: T.String() }),
      output: T.String(),
      handler: ({ userId }, ctx) => ctx.client<UsersService>('users').get({ id: userId }),
    }),
  }),
})

async function tracedBroker(sampleRatio: number, otlpEndpoint?: string) {
  const spans: SpanRecord[] = []
  const tracing = createTracing({
    service: 'shop',
    sampleRatio,
    sink: (batch) => spans.push(...batch),
    ...(otlpEndpoint ? { otlpEndpoint } : {}),
  })
  const broker = createBroker({
    services: [users, orders],
    ...(tracing.instrumentation ? { instrumentation: tracing.instrumentation } : {}),
  })
  await broker.start()
  cleanup.push(() => tracing.shutdown())
  cleanup.push(() => broker.stop())
  return { broker, tracing, spans }
}

describe('tracing', () => {
  it('records client and server spans of a nested call as one trace with parent links', async () => {
    const { broker, tracing, spans } = await tracedBroker(1)
    expect(await broker.call('orders', 'place', { userId: '7' })).toBe('user 7')
    await tracing.flush()
    const byName = (name: string, kind: string) => spans.find((s) => s.name === name && s.kind === kind)!
    const outer = byName('orders.place', 'client')
    const ordersRun = byName('orders.place', 'server')
    const usersCall = byName('users.get', 'client')
    const usersRun = byName('users.get', 'server')
    expect(spans).toHaveLength(4)
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1)
    expect(outer.parentSpanId).toBeUndefined()
    expect(ordersRun.parentSpanId).toBe(outer.spanId)
    expect(usersCall.parentSpanId).toBe(ordersRun.spanId)
    expect(usersRun.parentSpanId).toBe(usersCall.spanId)
    expect(usersRun.service).toBe('users')
    expect(usersCall.service).toBe('orders')
    expect(spans.every((s) => s.status === 'ok')).toBe(true)
  })

  it('gives client and server spans their rpc attributes, the caller and the in-flight count', async () => {
    const { broker, tracing, spans } = await tracedBroker(1)
    await broker.call('orders', 'place', { userId: '7' })
    await tracing.flush()
    const attrs = (name: string, kind: string) =>
      spans.find((s) => s.name === name && s.kind === kind)!.attributes
    const rpc = (service: string, method: string) => ({
      'rpc.system': 'tessera',
      'rpc.service': service,
      'rpc.method': method,
    })
    expect(attrs('orders.place', 'client')).toEqual(rpc('orders', 'place'))
    expect(attrs('orders.place', 'server')).toEqual({
      ...rpc('orders', 'place'),
      'tessera.in_flight': 1,
      'tessera.service': 'orders',
    })
    expect(attrs('users.get', 'client')).toEqual({
      ...rpc('users', 'get'),
      'tessera.caller': 'orders',
      'tessera.service': 'orders',
    })
    expect(attrs('users.get', 'server')).toEqual({
      ...rpc('users', 'get'),
      'tessera.caller': 'orders',
      'tessera.in_flight': 2,
      'tessera.service': 'users',
    })
  })

  it('follows a parent that is not sampled: no spans', async () => {
    const { broker, tracing, spans } = await tracedBroker(1)
    await broker.call(
      'orders',
      'place',
      { userId: '1' },
      {
        traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-00`,
      },
    )
    await tracing.flush()
    expect(spans).toEqual([])
  })

  it('samples about the ratio of new traces, each sampled trace whole, the others marked not sampled', async () => {
    const { broker, tracing, spans } = await tracedBroker(0.01)
    const calls = 20_000
    for (let i = 0; i < calls; i++) await broker.call('users', 'get', { id: String(i) })
    await tracing.flush()
    const clients = spans.filter((s) => s.kind === 'client')
    // Binomial(20 000, 1 %): mean 200, standard deviation 14.
    expect(clients.length).toBeGreaterThan(120)
    expect(clients.length).toBeLessThan(280)
    const servers = new Map(spans.filter((s) => s.kind === 'server').map((s) => [s.parentSpanId, s]))
    expect(servers.size).toBe(clients.length)
    for (const c of clients) expect(servers.get(c.spanId)?.traceId).toBe(c.traceId)
    // A trace that lost the draw still reaches the callee, as not sampled (flags 00).
    const seen: string[] = []
    const probe = defineService({
      name: 'probe',
      actions: ({ action }) => ({
        trace: action({
          input: T.Object({}),
          output: T.String(),
          handler: (_in, ctx) => `${ctx.trace.traceId}-${ctx.trace.flags}`,
        }),
      }),
    })
    const t = createTracing({ service: 'p', sampleRatio: 0.000_001, sink: () => {} })
    const b = createBroker({ services: [probe], instrumentation: t.instrumentation! })
    await b.start()
    cleanup.push(() => b.stop())
    for (let i = 0; i < 3; i++) seen.push((await b.call('probe', 'trace', {})) as string)
    expect(seen.every((x) => /^[0-9a-f]{32}-0$/.test(x))).toBe(true)
    expect(new Set(seen).size).toBe(3)
  })

  it('makes no instrumentation at all at sampling 0', async () => {
    const tracing = createTracing({ service: 'x', sampleRatio: 0, sink: () => {} })
    expect(tracing.instrumentation).toBeUndefined()
    // No span is started at 0: a broker without instrumentation calls nothing.
    const { broker, tracing: t, spans } = await tracedBroker(0)
    await broker.call('orders', 'place', { userId: '1' })
    await t.flush()
    expect(spans).toEqual([])
  })

  it('marks a failed call and handler as errors with the code', async () => {
    const { broker, tracing, spans } = await tracedBroker(1)
    await broker.call('users', 'get', { id: 5 }).catch(() => undefined)
    await tracing.flush()
    expect(spans.map((s) => [s.kind, s.status, s.code])).toEqual([
      ['server', 'error', 'VALIDATION'],
      ['client', 'error', 'VALIDATION'],
    ])
  })

  it('exports spans over OTLP/HTTP to a receiver', async () => {
    const bodies: unknown[] = []
    const server = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      bodies.push({
        url: req.url,
        type: req.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString()),
      })
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    cleanup.push(() => new Promise((r) => server.close(() => r())))
    const { port } = server.address() as AddressInfo
    const { broker, tracing } = await tracedBroker(1, `http://127.0.0.1:${port}`)
    await broker.call('orders', 'place', { userId: '7' })
    await tracing.flush()
    await vi.waitFor(() => expect(bodies.length).toBeGreaterThan(0))
    const first = bodies[0] as {
      url: string
      type: string
      body: {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] }
          scopeSpans: { spans: { name: string; traceId: string; parentSpanId?: string; kind: number }[] }[]
        }[]
      }
    }
    expect(first.url).toBe('/v1/traces')
    expect(first.type).toContain('application/json')
    const rs = first.body.resourceSpans[0]!
    expect(rs.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'shop' } })
    const names = rs.scopeSpans.flatMap((s) => s.spans.map((x) => x.name)).sort()
    expect(names).toEqual(['orders.place', 'orders.place', 'users.get', 'users.get'])
  })
})

describe('spans a handler opens (ctx.startSpan)', () => {
  const store = defineService({
    name: 'store',
    actions: ({ action }) => ({
      query: action({
        input: T.Object({ fail: T.Boolean() }),
        output: T.String(),
        handler: async ({ fail }, ctx) => {
          const span = ctx.startSpan('SELECT products', { 'db.system.name': 'sqlite' })
          if (fail) {
            span.end(new Error('disk on fire'))
            span.end() // only the first end counts
            return 'failed'
          }
          span.end()
          return 'ok'
        },
      }),
    }),
  })

  it('are children of the call, with their attributes and an error status when ended with one', async () => {
    const spans: SpanRecord[] = []
    const tracing = createTracing({ service: 'shop', sampleRatio: 1, sink: (batch) => spans.push(...batch) })
    const broker = createBroker({ services: [store], instrumentation: tracing.instrumentation! })
    await broker.start()
    cleanup.push(() => tracing.shutdown())
    cleanup.push(() => broker.stop())
    await broker.call('store', 'query', { fail: false })
    await broker.call('store', 'query', { fail: true })
    await tracing.flush()
    const queries = spans.filter((s) => s.name === 'SELECT products')
    expect(queries.map((s) => [s.kind, s.status, s.service, s.attributes['db.system.name']])).toEqual([
      ['internal', 'ok', 'store', 'sqlite'],
      ['internal', 'error', 'store', 'sqlite'],
    ])
    for (const q of queries) {
      const parent = spans.find((s) => s.spanId === q.parentSpanId)
      expect([parent?.name, parent?.kind]).toEqual(['store.query', 'server'])
    }
  })

  it('are a no-op without tracing', async () => {
    const broker = createBroker({ services: [store] })
    await broker.start()
    cleanup.push(() => broker.stop())
    expect(await broker.call('store', 'query', { fail: false })).toBe('ok')
  })
})
