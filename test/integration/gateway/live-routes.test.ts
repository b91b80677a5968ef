import { Type as T } from '@sinclair/typebox'
import { describe, expect, it } from 'vitest'
import { defineService } from '../../../src/contract/index.ts'
import { createGateway } from '../../../src/gateway/index.ts'
import type { Logger } from '../../../src/observability/index.ts'
import type { NodeInfo } from '../../../src/transport/index.ts'
import { catalogService, createCounter, faults, json, orders, slowStarted, startGateway } from './fixtures.ts'

const inventory = defineService({
  name: 'inventory',
  actions: ({ action }) => ({
    count: action({
      input: T.Object({ sku: T.String() }),
      output: T.Object({ sku: T.String(), count: T.Integer() }),
      http: { method: 'GET', path: '/stock/:sku', auth: 'public' },
      handler: ({ sku }) => ({ sku, count: 3 }),
    }),
  }),
})

function recordingLogger() {
  const warnings: { obj: Record<string, unknown>; msg: string | undefined }[] = []
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (obj, msg) => void warnings.push({ obj: obj as Record<string, unknown>, msg }),
    error() {},
    child: () => logger,
  }
  return { logger, warnings }
}

describe('gateway routes follow the registry', () => {
  it('routes a service that joins after the gateway started, and readyz turns ready', async () => {
    await using sys = await startGateway([])
    expect((await fetch(`${sys.url}/readyz`)).status).toBe(503)
    expect((await fetch(`${sys.url}/stock/abc`)).status).toBe(404)
    await sys.addNode(inventory)
    const res = await fetch(`${sys.url}/stock/abc`)
    expect(res.status).toBe(200)
    expect(await json(res)).toEqual({ sku: 'abc', count: 3 })
    const ready = await fetch(`${sys.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await json(ready)).toEqual({ status: 'ready', routes: 1 })
  })

  it('answers 503 for a service that left while it may come back, 404 after the grace; readyz is no longer ready', async () => {
    await using sys = await startGateway([], { routeGraceMs: 1_500 })
    const node = await sys.addNode(inventory)
    expect((await fetch(`${sys.url}/stock/abc`)).status).toBe(200)
    await node.stop()
    const during = await fetch(`${sys.url}/stock/abc`)
    expect(during.status).toBe(503)
    expect((await json(during)).error.code).toBe('UNAVAILABLE')
    expect((await fetch(`${sys.url}/readyz`)).status).toBe(503)
    expect(sys.gateway.routes()).toEqual([])
    await expect.poll(async () => (await fetch(`${sys.url}/stock/abc`)).status, { timeout: 5_000 }).toBe(404)
  })

  it('answers 503 to a call in flight when its node crashes', async () => {
    await using sys = await startGateway([])
    const node = await sys.addNode(faults)
    const started = slowStarted.count
    const pending = fetch(`${sys.url}/slow?ms=400`)
    await expect.poll(() => slowStarted.count, { interval: 5 }).toBe(started + 1) // in flight, not just sent
    sys.hub.leave(node.nodeId, 'crashed')
    const res = await pending
    expect(res.status).toBe(503)
    expect((await json(res)).error.code).toBe('UNAVAILABLE')
    await node.stop()
  })

  it('skips garbage announced by a peer with a warning, and keeps serving the good routes', async () => {
    const { logger, warnings } = recordingLogger()
    await using sys = await startGateway([catalogService(createCounter())], { logger })
    const evil = {
      nodeId: 'node-evil',
      seq: 1,
      services: [
        {
          name: 'evil',
          version: '1',
          subscriptions: {},
          actions: {
            badMethod: { idempotent: true, http: { method: 'TRACE', path: '/x' } },
            badPath: { idempotent: true, http: { method: 'GET', path: 'no-slash' } },
            wildcard: { idempotent: true, http: { method: 'GET', path: '/files/*' } },
            regex: { idempotent: true, http: { method: 'GET', path: '/r/:id(^\\d+$)' } },
            badAuth: { idempotent: true, http: { method: 'GET', path: '/a', auth: 'none' } },
            notObject: { idempotent: true, http: 'GET /' },
            badSchema: { idempotent: true, http: { method: 'GET', path: '/s' }, input: { type: 42 } },
            reserved: { idempotent: true, http: { method: 'GET', path: '/healthz', auth: 'public' } },
            conflict: { idempotent: true, http: { method: 'GET', path: '/items/:other', auth: 'public' } },
          },
        },
        'not a service',
        { name: 'Bad Name!', actions: { x: { http: { method: 'GET', path: '/bad-name' } } } },
      ],
    } as unknown as NodeInfo
    // Announced over the hub, as a peer would: the gateway's registry is read-only.
    sys.hub.join({ info: evil, handlers: { onMessage() {}, onPeer() {}, onPeerGone() {} } })
    const routes = sys.gateway.routes()
    expect(routes.filter((r) => r.service === 'evil')).toEqual([])
    expect(routes.some((r) => r.path === '/bad-name')).toBe(false)
    const skipped = warnings.filter((w) => w.msg === 'skipping announced route').map((w) => w.obj.action)
    expect(skipped.sort()).toEqual(
      [
        'evil.badAuth',
        'evil.badMethod',
        'evil.badPath',
        'evil.badSchema',
        'evil.conflict',
        'evil.notObject',
        'evil.regex',
        'evil.reserved',
        'evil.wildcard',
      ].sort(),
    )
    expect((await fetch(`${sys.url}/items/1`)).status).toBe(200)
    expect((await fetch(`${sys.url}/healthz`)).status).toBe(200)
    // A second look at the same announcement does not warn again.
    sys.hub.announce({ ...evil, seq: 2 })
    sys.gateway.routes()
    expect(warnings.filter((w) => w.msg === 'skipping announced route')).toHaveLength(9)
    sys.hub.leave(evil.nodeId, 'closed')
  })
})

describe('gateway lifecycle', () => {
  it('rejects when the port is taken and leaves the broker as it was, so a retry works', async () => {
    await using sys = await startGateway([orders], { sse: { events: ['order.placed'], auth: 'public' } })
    const port = Number(new URL(sys.url).port)
    await expect(
      createGateway({
        broker: sys.gatewayBroker,
        port,
        sse: { events: ['order.placed'], serviceName: 'gateway-events-2' },
      }),
    ).rejects.toThrow(/EADDRINUSE/)
    expect(sys.gatewayBroker.registry.endpoints('gateway-events-2')).toEqual([])
    await sys.gateway.close()
    await sys.gateway.close() // idempotent
    expect(sys.gatewayBroker.registry.endpoints('gateway-events')).toEqual([])
    await using again = await createGateway({
      broker: sys.gatewayBroker,
      sse: { events: ['order.placed'], auth: 'public' },
    })
    expect((await fetch(`${again.url}/healthz`)).status).toBe(200)
  })
})
