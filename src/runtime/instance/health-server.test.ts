import { afterEach, describe, expect, it } from 'vitest'
import {
  authorityKey,
  createAuthority,
  delegateUnit,
  encodeDelegation,
  loadCredential,
  verifyCertificate,
} from '../../identity/index.ts'
import { type Standalone, startStandalone } from './health-server.ts'

const baked = {
  nodeId: '',
  services: [{ name: 'orders', entry: '/app/services/orders/service.ts' }],
  needs: ['users'],
  transport: { kind: 'nats', servers: ['nats://nats:4222'], namespace: 'shop-k8s' },
  drainTimeoutMs: 10_000,
  drainGraceMs: 300,
  readyTimeoutMs: 30_000,
}
const env = (extra: Record<string, string> = {}) => ({
  TESSERA_HEALTH_PORT: '0',
  TESSERA_HEALTH_HOST: '127.0.0.1',
  TESSERA_INSTANCE: JSON.stringify(baked),
  ...extra,
})

let running: Standalone | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

async function start(extra?: Record<string, string>): Promise<Standalone> {
  running = await startStandalone(env(extra), false)
  if (!running) throw new Error('expected a standalone instance')
  return running
}
const get = async (s: Standalone, path: string) => {
  const res = await fetch(`http://127.0.0.1:${s.port}${path}`)
  return { status: res.status, body: await res.json() }
}

describe('startStandalone (an instance in a container)', () => {
  it('is not started under a supervisor (IPC) or without TESSERA_HEALTH_PORT', async () => {
    expect(await startStandalone(env(), true)).toBeUndefined()
    expect(await startStandalone({ TESSERA_INSTANCE: JSON.stringify(baked) }, false)).toBeUndefined()
  })

  it('answers readiness 503 until ready, 200 while serving, 503 again once draining; liveness always', async () => {
    const s = await start()
    expect(await get(s, '/readyz')).toEqual({ status: 503, body: { status: 'starting' } })
    expect(await get(s, '/healthz')).toEqual({ status: 200, body: { status: 'alive' } })
    s.send({ type: 'ready', services: [{ name: 'orders', version: '1.0.0' }] })
    expect(await get(s, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } })
    s.draining()
    expect(await get(s, '/readyz')).toEqual({ status: 503, body: { status: 'draining' } })
    expect((await get(s, '/healthz')).status).toBe(200)
    expect((await get(s, '/other')).status).toBe(404)
  })

  it('makes a node id of its own and takes the NATS servers and login from the environment', async () => {
    const s = await start({ TESSERA_NATS_URL: 'nats://a:4222, nats://b:4222', TESSERA_NATS_TOKEN: 't0ken' })
    expect(s.env.nodeId).toMatch(/^orders-.+-[a-z0-9]+$/)
    expect(s.env.transport).toEqual({ ...baked.transport, servers: ['nats://a:4222', 'nats://b:4222'] })
    expect(s.natsLogin).toEqual({ token: 't0ken' })
    const second = await startStandalone(env(), false)
    expect(second?.env.nodeId).not.toBe(s.env.nodeId)
    expect(second?.natsLogin).toBeUndefined()
    await second?.close()
  })

  it('makes its credential for its own node id from the unit delegation, and takes an nkey login', async () => {
    const key = authorityKey()
    const rights = { unit: 'orders', services: ['orders'], assertsPrincipal: false }
    const s = await start({
      TESSERA_IDENTITY: encodeDelegation(delegateUnit(key, rights)),
      TESSERA_NATS_NKEY_SEED: 'SUAEXAMPLE',
    })
    expect(s.natsLogin).toEqual({ nkeySeed: 'SUAEXAMPLE' })
    const loaded = loadCredential(s.credential!)
    expect(loaded.identity).toEqual({ node: s.env.nodeId, ...rights })
    // Another authority's nodes do not take it.
    const foreign = loadCredential(createAuthority().issue({ node: 'x', ...rights }))
    expect(verifyCertificate(s.credential!.certificate, foreign.authority)).toBeUndefined()
    await s.close()
    running = undefined
    await expect(startStandalone(env({ TESSERA_IDENTITY: 'garbage' }), false)).rejects.toThrow(
      /unit delegation/,
    )
  })

  it('rejects a port that is not one, and a missing TESSERA_INSTANCE', async () => {
    await expect(startStandalone(env({ TESSERA_HEALTH_PORT: 'http' }), false)).rejects.toThrow(
      /TESSERA_HEALTH_PORT must be a port number/,
    )
    await expect(startStandalone({ TESSERA_HEALTH_PORT: '0' }, false)).rejects.toThrow(
      /TESSERA_INSTANCE is missing/,
    )
  })
})
