import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NatsCluster, startNatsCluster } from '../../../test/support/nats-cluster.ts'
import { type NatsServer, startNatsServer } from '../../../test/support/nats-server.ts'
import { withReplicas } from './index.ts'

let single: NatsServer
let store: string
let cluster: NatsCluster
let toSingle: NatsConnection
let toCluster: NatsConnection
beforeAll(async () => {
  store = await mkdtemp(join(tmpdir(), 'tessera-replicas-'))
  ;[single, cluster] = await Promise.all([
    startNatsServer({ extraConfig: `jetstream { store_dir: ${JSON.stringify(store)} }` }),
    startNatsCluster(3, { jetstream: true }),
  ])
  toSingle = await connect({ servers: single.url })
  toCluster = await connect({ servers: cluster.urls })
}, 60_000)
afterAll(async () => {
  await toSingle?.close()
  await toCluster?.close()
  await single?.stop()
  await cluster?.stop()
  await rm(store, { recursive: true, force: true })
})

describe('withReplicas', () => {
  it('makes a KV bucket with 3 replicas on a 3-server cluster', async () => {
    const kv = await withReplicas((replicas) => toCluster.jetstream().views.kv('r-three', { replicas }))
    expect((await kv.status()).replicas).toBe(3)
  })

  it('falls back to 1 replica on a server that is not in a cluster', async () => {
    const asked: number[] = []
    const kv = await withReplicas((replicas) => {
      asked.push(replicas)
      return toSingle.jetstream().views.kv('r-one', { replicas })
    })
    expect(asked).toEqual([3, 1])
    expect((await kv.status()).replicas).toBe(1)
  })

  it('passes on any other failure, asking once', async () => {
    await toCluster
      .jetstreamManager()
      .then((jsm) => jsm.streams.add({ name: 'r-taken', subjects: ['r-three.>'] }))
    const asked: number[] = []
    const bad = withReplicas((replicas) => {
      asked.push(replicas)
      // Two streams may not share a subject: JetStream refuses the second whatever its replicas.
      return toCluster
        .jetstreamManager()
        .then((jsm) => jsm.streams.add({ name: 'r-bad', subjects: ['r-three.>'], num_replicas: replicas }))
    })
    await expect(bad).rejects.toThrow()
    expect(asked).toEqual([3])
  })
})
