import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Type as T } from '@sinclair/typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Broker, createBroker } from '../../../src/broker/index.ts'
import { type AnyService, defineService } from '../../../src/contract/index.ts'
import { type Authority, createAuthority, type NodeCredential } from '../../../src/identity/index.ts'
import type { Logger } from '../../../src/observability/index.ts'
import { socketTransport } from '../../../src/transport/socket/index.ts'

// A small shop on the socket transport with runtime-style credentials: a gateway that
// asserts principals, orders (which may reserve stock), catalog (whose reserve only
// orders may call) and a notifications node that may do neither.

let dir: string
let authority: Authority
const stops: Broker[] = []
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsi-'))
  authority = createAuthority()
})
afterEach(async () => {
  for (const b of stops.splice(0).reverse()) await b.stop()
  await rm(dir, { recursive: true, force: true })
})

interface Warning {
  obj: Record<string, unknown>
  msg: string | undefined
}
function recordingLogger(warnings: Warning[]): Logger {
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }),
    error() {},
    child: () => logger,
  }
  return logger
}

const reserved: string[] = []
const catalog = defineService({
  name: 'catalog',
  actions: ({ action }) => ({
    reserve: action({
      input: T.Object({ sku: T.String() }),
      output: T.Object({ by: T.String(), for: T.Optional(T.String()) }),
      callers: ['orders'],
      handler: ({ sku }, ctx) => {
        reserved.push(sku)
        return { by: ctx.caller ?? '?', ...(ctx.principal ? { for: ctx.principal.id } : {}) }
      },
    }),
    whoAmI: action({
      input: T.Object({}),
      output: T.Object({ principal: T.Optional(T.String()), roles: T.Array(T.String()) }),
      handler: (_input, ctx) => ({
        ...(ctx.principal ? { principal: ctx.principal.id } : {}),
        roles: ctx.principal?.roles ?? [],
      }),
    }),
  }),
})
const orders = defineService({
  name: 'orders',
  actions: ({ action }) => ({
    place: action({
      input: T.Object({ sku: T.String() }),
      output: T.Object({ by: T.String(), for: T.Optional(T.String()) }),
      handler: (input, ctx) => ctx.client<typeof catalog>('catalog').reserve(input),
    }),
  }),
})
const notifications = defineService({
  name: 'notifications',
  actions: ({ action }) => ({
    sneak: action({
      input: T.Object({ sku: T.String() }),
      output: T.Unknown(),
      handler: (input, ctx) => ctx.client<typeof catalog>('catalog').reserve(input),
    }),
  }),
})

async function start(
  node: string,
  services: AnyService[],
  options: { assertsPrincipal?: boolean; credential?: NodeCredential | null; warnings?: Warning[] } = {},
): Promise<Broker> {
  const credential =
    options.credential === null
      ? undefined
      : (options.credential ??
        authority.issue({
          node,
          unit: node.replace(/-\d+$/, ''),
          services: services.map((s) => s.name),
          assertsPrincipal: options.assertsPrincipal ?? false,
        }))
  const logger = recordingLogger(options.warnings ?? [])
  const broker = createBroker({
    nodeId: node,
    services,
    logger,
    transport: socketTransport({ dir, logger, ...(credential ? { credential } : {}) }),
    ...(credential ? { credential } : {}),
  })
  stops.push(broker)
  await broker.start()
  return broker
}

describe('service identity on a system with credentials', () => {
  beforeEach(() => {
    reserved.length = 0
  })

  it('carries a principal the gateway asserted across every hop', async () => {
    const catalogWarnings: Warning[] = []
    await start('catalog-1', [catalog], { warnings: catalogWarnings })
    await start('orders-1', [orders])
    const gateway = await start('gateway-1', [], { assertsPrincipal: true })
    await gateway.waitFor(['orders', 'catalog'], 5_000)
    const principal = { id: 'u-7', roles: ['customer'] }
    expect(await gateway.call('orders', 'place', { sku: 'a' }, { principal })).toEqual({
      by: 'orders',
      for: 'u-7',
    })
    expect(await gateway.call('catalog', 'whoAmI', {}, { principal })).toEqual({
      principal: 'u-7',
      roles: ['customer'],
    })
    expect(catalogWarnings).toEqual([])
  })

  it('refuses a service that calls an action it may not call, logs it, and runs nothing', async () => {
    const warnings: Warning[] = []
    await start('catalog-1', [catalog], { warnings })
    const notifier = await start('notifications-1', [notifications])
    const gateway = await start('gateway-1', [], { assertsPrincipal: true })
    await notifier.waitFor(['catalog'], 5_000)
    await gateway.waitFor(['notifications', 'catalog'], 5_000)
    await expect(gateway.call('notifications', 'sneak', { sku: 'b' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'notifications may not call catalog.reserve',
    })
    // Nor straight from the gateway, which is no service at all: its unit is not listed either.
    await expect(gateway.call('catalog', 'reserve', { sku: 'c' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    expect(reserved).toEqual([])
    expect(
      warnings.filter((w) => w.msg === 'call refused: caller not allowed').map((w) => w.obj.caller),
    ).toEqual(['notifications', 'gateway'])
  })

  it('refuses a principal asserted by a node that may not assert one', async () => {
    await start('catalog-1', [catalog])
    const notifier = await start('notifications-1', [notifications])
    await notifier.waitFor(['catalog'], 5_000)
    await expect(
      notifier.call('catalog', 'whoAmI', {}, { principal: { id: 'someone-else', roles: ['admin'] } }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/may not assert a principal/),
    })
  })

  it('refuses and logs a forged principal from a peer that holds a valid credential', async () => {
    const warnings: Warning[] = []
    await start('catalog-1', [catalog], { warnings })
    // A peer with a real credential that skips its broker: it sends a principal with no proof.
    const credential = authority.issue({
      node: 'rogue-1',
      unit: 'rogue',
      services: [],
      assertsPrincipal: false,
    })
    const transport = socketTransport({ dir, credential })
    const answers: unknown[] = []
    await transport.start(
      { nodeId: 'rogue-1', seq: 1, services: [] },
      { onMessage: (_from, msg) => answers.push(msg), onPeer: () => {}, onPeerGone: () => {} },
    )
    try {
      const until = Date.now() + 5_000
      while (!transport.send('catalog-1', { kind: 'cancel', id: 0 }) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20))
      transport.send('catalog-1', {
        kind: 'request',
        id: 1,
        service: 'catalog',
        action: 'whoAmI',
        input: {},
        ctx: {
          requestId: 'r',
          traceparent: '00-aa-bb-01',
          timeout: 1000,
          principal: { id: 'u-1', roles: ['admin'] },
        },
      })
      while (answers.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
      expect(answers).toEqual([
        {
          kind: 'response',
          id: 1,
          ok: false,
          error: {
            code: 'UNAUTHORIZED',
            message: 'call refused: call to catalog.whoAmI from rogue names a principal no proof vouches for',
          },
        },
      ])
      expect(warnings.map((w) => w.msg)).toContain('call refused')
    } finally {
      await transport.close()
    }
  })
})

describe('caller rules without credentials', () => {
  it('still refuses a service the rule does not name', async () => {
    reserved.length = 0
    await start('catalog-1', [catalog], { credential: null })
    const notifier = await start('notifications-1', [notifications], { credential: null })
    const ordersNode = await start('orders-1', [orders], { credential: null })
    await notifier.waitFor(['catalog'], 5_000)
    await expect(notifier.call('notifications', 'sneak', { sku: 'd' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
    await ordersNode.waitFor(['catalog'], 5_000)
    expect(await ordersNode.call('orders', 'place', { sku: 'e' })).toEqual({ by: 'orders' })
    expect(reserved).toEqual(['e'])
  })
})
