import { connect, type NatsConnection, nkeyAuthenticator } from 'nats'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, startNatsServer } from '../../../test/support/nats-server.ts'
import { encodeEnvelope } from '../../codec/index.ts'
import { type Authority, createAuthority, type NodeCredential } from '../../identity/index.ts'
import type { NodeInfo } from '../../wire/index.ts'
import type { Transport } from '../transport.ts'
import {
  createNatsUserKey,
  type NatsUserKey,
  natsAuthorizationBlock,
  natsPermissions,
  natsTransport,
} from './index.ts'
import { capturingLogger, nodeInfo, type Recorder, recorder, waitFor } from './testing/recorder.ts'

// One server whose users are the units of one system, with the permissions the runtime
// generates: each unit may publish only under its own unit token.
const NS = 'idsys'
const UNITS = ['orders', 'users', 'catalog'] as const
type Unit = (typeof UNITS)[number]
const logins = {} as Record<Unit, NatsUserKey>
let server: NatsServer
let authority: Authority
const open: Transport[] = []
const raws: NatsConnection[] = []

beforeAll(async () => {
  for (const unit of UNITS) logins[unit] = await createNatsUserKey()
  server = await startNatsServer({
    extraConfig: natsAuthorizationBlock(
      UNITS.map((unit) => ({ nkey: logins[unit].publicKey, permissions: natsPermissions(NS, unit) })),
    ),
  })
  authority = createAuthority()
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()))
  await Promise.all(raws.splice(0).map((r) => r.close()))
})
afterAll(async () => {
  await server?.stop()
})

let n = 0
/** A node id unique to this test, so one test's nodes never meet another's. */
const id = (unit: Unit) => `${unit}-${++n}`

function credentialFor(node: string, unit: Unit, issuer = authority): NodeCredential {
  return issuer.issue({ node, unit, services: [unit], assertsPrincipal: false })
}

/** A node hosting the service named like its unit, plus whatever else it claims. */
function infoOf(node: string, services: string[]): NodeInfo {
  const base = nodeInfo(node)
  return { ...base, services: services.map((name) => ({ ...base.services[0]!, name })) }
}

async function startNode(
  unit: Unit,
  options: {
    node?: string
    credential?: NodeCredential | null
    services?: string[]
    heartbeatMs?: number
  } = {},
) {
  const node = options.node ?? id(unit)
  const logger = capturingLogger()
  const credential = options.credential === undefined ? credentialFor(node, unit) : options.credential
  const transport = natsTransport({
    servers: server.url,
    namespace: NS,
    credentials: { nkeySeed: logins[unit].seed },
    ...(credential ? { credential } : { unit }),
    logger,
    ...(options.heartbeatMs
      ? { heartbeatMs: options.heartbeatMs, peerTimeoutMs: options.heartbeatMs * 3 }
      : {}),
  })
  open.push(transport)
  const rec = recorder()
  await transport.start(infoOf(node, options.services ?? [unit]), rec.handlers)
  return { node, transport, rec, logger }
}

/** A bare NATS client logged in as `unit`, with the server errors it was sent. */
async function rawClient(unit: Unit) {
  const nc = await connect({
    servers: server.url,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(logins[unit].seed)),
  })
  raws.push(nc)
  const violations: string[] = []
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error' && s.permissionContext) violations.push(s.permissionContext.subject)
    }
  })()
  return { nc, violations }
}

const peerOf = (rec: Recorder, node: string) => rec.peers.findLast((p) => p.nodeId === node)
const request = (id: number) =>
  encodeEnvelope({
    kind: 'request',
    id,
    service: 'orders',
    action: 'say',
    input: {},
    ctx: { requestId: `r-${id}`, traceparent: '00-abc-def-01', timeout: 1000, caller: 'users' },
  })

describe('natsTransport with credentials and per-unit NATS logins', () => {
  it('shows each peer with its verified identity, and only the services that identity allows', async () => {
    const orders = await startNode('orders')
    const users = await startNode('users', { services: ['users', 'orders'] })
    const seen = await waitFor(() => peerOf(orders.rec, users.node), 'orders to see users')
    expect(seen.identity).toEqual({
      node: users.node,
      unit: 'users',
      services: ['users'],
      assertsPrincipal: false,
    })
    expect(seen.services.map((s) => s.name)).toEqual(['users'])
    expect(orders.logger.warnings).toContain('nats: peer announced services its identity does not allow')
    const back = await waitFor(() => peerOf(users.rec, orders.node), 'users to see orders')
    expect(back.identity?.unit).toBe('orders')
    expect(users.transport.send(orders.node, { kind: 'cancel', id: 7 })).toBe(true)
    await waitFor(() => orders.rec.messages.length === 1, 'the message')
    expect(orders.rec.messages[0]).toEqual({ from: users.node, message: { kind: 'cancel', id: 7 } })
  })

  it('lets the server refuse a unit publishing as another unit: the forged request never arrives', async () => {
    const orders = await startNode('orders')
    const users = await startNode('users')
    await waitFor(() => peerOf(orders.rec, users.node), 'orders to see users')
    const intruder = await rawClient('catalog')
    const inbox = `tessera.${NS}.node.orders.${orders.node}`
    intruder.nc.publish(`${inbox}.users.${users.node}`, request(1))
    // Then a message the intruder may send: NATS keeps one client's order, so once it
    // arrives the forged one would have arrived before it.
    intruder.nc.publish(`${inbox}.catalog.catalog-x`, encodeEnvelope({ kind: 'cancel', id: 99 }))
    await waitFor(() => orders.rec.messages.some((m) => m.from === 'catalog-x'), 'the permitted message')
    expect(orders.rec.messages.filter((m) => m.from === users.node)).toEqual([])
    await waitFor(() => intruder.violations.length > 0, 'the permission violation')
    expect(intruder.violations).toEqual([`${inbox}.users.${users.node}`])
  })

  it('drops messages under a known node id that come with another unit token', async () => {
    const orders = await startNode('orders')
    const users = await startNode('users')
    await waitFor(() => peerOf(orders.rec, users.node), 'orders to see users')
    const intruder = await rawClient('catalog')
    const inbox = `tessera.${NS}.node.orders.${orders.node}`
    // Allowed by the server (catalog's own unit token) but naming the users node.
    intruder.nc.publish(`${inbox}.catalog.${users.node}`, request(2))
    intruder.nc.publish(
      `tessera.${NS}.discovery.catalog.${users.node}`,
      encodeEnvelope({ kind: 'bye', nodeId: users.node }),
    )
    intruder.nc.publish(`${inbox}.catalog.catalog-x`, encodeEnvelope({ kind: 'cancel', id: 99 }))
    await waitFor(() => orders.rec.messages.some((m) => m.from === 'catalog-x'), 'the permitted message')
    expect(orders.rec.messages.filter((m) => m.from === users.node)).toEqual([])
    expect(orders.rec.gone).toEqual([])
    expect(orders.logger.warnings).toContain('nats: peer refused: no valid identity')
  })

  it('does not take a node without a valid certificate as a peer, and logs it once, not per heartbeat', async () => {
    const heartbeatMs = 40
    const orders = await startNode('orders', { heartbeatMs })
    const stranger = createAuthority()
    const foreign = id('catalog')
    const refused = [
      await startNode('catalog', { credential: null, heartbeatMs }),
      await startNode('catalog', {
        node: foreign,
        credential: credentialFor(foreign, 'catalog', stranger),
        heartbeatMs,
      }),
    ]
    // A certificate of another unit's node, replayed under the catalog login.
    const usersNode = id('users')
    refused.push(await startNode('catalog', { node: usersNode, credential: null, heartbeatMs }))
    const replayed = await rawClient('catalog')
    replayed.nc.publish(
      `tessera.${NS}.discovery.catalog.${usersNode}`,
      encodeEnvelope({
        kind: 'hello',
        info: infoOf(usersNode, ['users']),
        auth: { certificate: credentialFor(usersNode, 'users').certificate, nonce: 'n' },
      }),
    )
    // Heartbeats of the refused nodes keep coming: an older node beats forever, a current
    // one while it knows no peer or one that judges by silence (decision 0023). The
    // catalog login beats for each here, as such nodes would; counted where orders hears them.
    const beats = setInterval(() => {
      for (const r of refused) {
        replayed.nc.publish(
          `tessera.${NS}.discovery.catalog.${r.node}`,
          encodeEnvelope({ kind: 'ping', n: 1 }),
        )
      }
    }, heartbeatMs)
    const pings = new Map<string, number>()
    const watcher = await rawClient('orders')
    watcher.nc.subscribe(`tessera.${NS}.discovery.catalog.*`, {
      callback: (_e, m) => {
        const node = m.subject.split('.').at(-1)!
        pings.set(node, (pings.get(node) ?? 0) + 1)
      },
    })
    await waitFor(() => refused.every((r) => (pings.get(r.node) ?? 0) >= 5), '5 heartbeats of each').finally(
      () => clearInterval(beats),
    )
    const good = await startNode('catalog', { heartbeatMs })
    await waitFor(() => peerOf(orders.rec, good.node), 'orders to see the valid catalog node')
    for (const r of refused) expect(peerOf(orders.rec, r.node)).toBeUndefined()
    const refusals = orders.logger.warnings.filter((w) => w === 'nats: peer refused: no valid identity')
    // One per refused node (the replayed certificate is a second reason for usersNode).
    expect(refusals.length).toBe(refused.length + 1)
  })
})
