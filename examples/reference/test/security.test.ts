import { generateKeyPairSync } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import { createBroker } from 'tessera/broker'
import { createSupervisor, createTransport } from 'tessera/runtime'
import { expect, it } from 'vitest'
import { encodeEnvelope } from '../../../src/codec/index.ts'
import type { AuthService } from '../services/auth/service.ts'
import { AUDIENCE, ISSUER } from '../services/auth/tokens.ts'
import type { CatalogService } from '../services/catalog/service.ts'
import type { UsersService } from '../services/users/service.ts'
import { eventually, principalOf, tempSqlite } from './helpers.ts'
import { referenceUnderRuntime } from './under-runtime.ts'

function frame(body: Uint8Array): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt32BE(body.length)
  return Buffer.concat([head, body])
}

// issue 9's "Show": a forged token, a peer without a credential and a service calling an
// action it may not call are each refused and logged, with nothing written — against the
// reference system as the runtime runs it (one process per instance, credentials on).
it('refuses and logs a forged token, a peer without a credential and a caller without the right, writing nothing', async () => {
  using temp = tempSqlite()
  await using sup = createSupervisor(referenceUnderRuntime(temp.dir))
  expect((await sup.up()).failed).toEqual([])
  const address = sup.address('gateway')!
  const base = `http://${address.host}:${address.port}`
  const log = (unit: string) => readFile(join(sup.logsDir, `${unit}.log`), 'utf8').catch(() => '')
  const caller = sup.caller
  const ada = await caller.client<AuthService>('auth').register({
    email: 'ada@example.com',
    password: 'correct horse battery',
    name: 'Ada',
  })
  const asAda = { principal: await principalOf(ada.accessToken) }

  // 1. A token signed with a key that is not auth's, claiming the admin role.
  const forger = generateKeyPairSync('ed25519').privateKey
  const forged = await new SignJWT({ roles: ['admin'], jti: 'forged-1' })
    .setProtectedHeader({ alg: 'EdDSA' })
    .setSubject('mallory')
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime('5m')
    .sign(forger)
  const read = await fetch(`${base}/users/${ada.userId}`, { headers: { authorization: `Bearer ${forged}` } })
  expect(read.status).toBe(401)
  const order = await fetch(`${base}/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${forged}`, 'content-type': 'application/json' },
    body: JSON.stringify({ idempotencyKey: 'forged-1', items: [{ productId: 'tea-sencha', quantity: 1 }] }),
  })
  expect(order.status).toBe(401)
  await eventually(async () => ((await log('gateway')).includes('request refused') ? true : undefined))
  expect(await log('gateway')).not.toContain(forged)

  // 2. A process that is not one of the system's instances, on the users service's own
  //    socket, with a request that names an admin principal.
  const users = sup.status().units.find((u) => u.name === 'users')!
  const socketPath = join((sup.transport as { dir: string }).dir, `${users.instances[0]!.nodeId}.sock`)
  const raw = connect({ path: socketPath })
  raw.on('error', () => {})
  raw.resume()
  const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()))
  raw.write(
    Buffer.concat([
      frame(encodeEnvelope({ kind: 'hello', info: { nodeId: 'intruder', seq: 1, services: [] } })),
      frame(
        encodeEnvelope({
          kind: 'request',
          id: 1,
          service: 'users',
          action: 'create',
          input: { id: 'usr_intruder', email: 'intruder@example.com', name: 'Intruder' },
          ctx: {
            requestId: 'r-1',
            traceparent: '00-aa-bb-01',
            timeout: 1000,
            principal: { id: 'x', roles: ['admin'] },
          },
        }),
      ),
    ]),
  )
  await closed
  await eventually(async () =>
    (await log('users')).includes('peer refused: no valid identity') ? true : undefined,
  )
  //    …and a whole broker without a credential sees no instance at all.
  const outsider = createBroker({ nodeId: 'outsider-1', transport: createTransport(sup.transport) })
  await outsider.start()
  await expect(outsider.call('users', 'get', { id: ada.userId }, { timeout: 1_500 })).rejects.toMatchObject({
    code: 'UNAVAILABLE',
  })
  await outsider.stop()

  // 3. A node with a valid credential of another unit calling catalog.reserve, which only
  //    orders may call.
  const impostor = createBroker({
    nodeId: 'notifications-impostor-1',
    ...(await sup.join({ node: 'notifications-impostor-1', unit: 'notifications' })),
  })
  await impostor.start()
  await impostor.waitFor(['catalog'], 5_000)
  const stockBefore = (await caller.client<CatalogService>('catalog').get({ id: 'tea-sencha' })).stock
  await expect(
    impostor
      .client<CatalogService>('catalog')
      .reserve({ key: 'impostor-1', items: [{ productId: 'tea-sencha', quantity: 5 }] }),
  ).rejects.toMatchObject({ code: 'FORBIDDEN', message: 'notifications may not call catalog.reserve' })
  await impostor.stop()
  await eventually(async () =>
    (await log('catalog')).includes('call refused: caller not allowed') ? true : undefined,
  )

  // Nothing was written by any of them.
  expect((await caller.client<CatalogService>('catalog').get({ id: 'tea-sencha' })).stock).toBe(stockBefore)
  await expect(
    caller
      .client<UsersService>('users')
      .get({ id: 'usr_intruder' }, { principal: { id: 'ops', roles: ['admin'] } }),
  ).rejects.toMatchObject({ code: 'NOT_FOUND' })
  const mine = await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${ada.accessToken}` } })
  expect(((await mine.json()) as { items: unknown[] }).items).toEqual([])
  void asAda
}, 90_000)
