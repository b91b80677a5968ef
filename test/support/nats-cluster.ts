import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, type NatsServer, startNatsServer } from './nats-server.ts'

/** A cluster of real nats-servers on 127.0.0.1, routed to each other, owned by one test file. */
export interface NatsCluster {
  readonly servers: NatsServer[]
  /** Every client URL, to hand to clients so they fail over. */
  readonly urls: string[]
  /**
   * Resolves once every running server has a route to every other running one (and,
   * with JetStream, each knows the meta leader: KV and streams answer).
   */
  routed(): Promise<void>
  /** Index of the running server holding a client connection named `name`, if any. */
  serverOf(name: string): Promise<number | undefined>
  /**
   * SIGKILLs the server Tessera node `nodeId` is connected to (its connection is named
   * `tessera:<nodeId>`; each node picks one server at random); resolves with its index.
   */
  killServerOf(nodeId: string): Promise<number>
  /** Stops every server (by pid) and removes their temp dirs. Idempotent. */
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * Starts `size` nats-servers (3 by default) as one cluster: each listens for clients and
 * routes on free ports of 127.0.0.1, names the others as routes, and serves monitoring
 * (used to wait for the routes). Resolves once all are routed to each other.
 *
 * @example
 * await using cluster = await startNatsCluster()
 * const transport = natsTransport({ servers: cluster.urls })
 * await cluster.servers[0]!.kill() // clients fail over to the other two
 */
/** Options of `startNatsCluster`. */
export interface NatsClusterOptions {
  /** Clients connect here instead of 127.0.0.1 (e.g. a bridge that network namespaces reach). */
  address?: string
  /** JetStream on every server, clustered, its store in a temp dir per server (removed on stop). */
  jetstream?: boolean
}

export async function startNatsCluster(size = 3, options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({
      client: await freePort(),
      route: await freePort(),
      http: await freePort(),
    })),
  )
  const servers: NatsServer[] = []
  const stores: string[] = []
  const cluster: NatsCluster = {
    servers,
    get urls() {
      return servers.map((s) => s.url)
    },
    async routed() {
      const deadline = Date.now() + 10_000
      for (;;) {
        const counts = await Promise.all(ports.map((p) => routeCount(p.http)))
        const up = counts.filter((n) => n !== undefined).length
        const meta = options.jetstream ? await Promise.all(ports.map((p) => metaLeader(p.http))) : []
        if (
          counts.every((n) => n === undefined || n >= up - 1) &&
          meta.every((m, i) => m || counts[i] === undefined)
        )
          return
        if (Date.now() > deadline) throw new Error(`nats cluster not routed after 10 s: ${counts.join(', ')}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    async serverOf(name) {
      for (const [i, p] of ports.entries()) {
        const names = await connectionNames(p.http)
        if (names?.includes(name)) return i
      }
      return undefined
    },
    async killServerOf(nodeId) {
      const index = await cluster.serverOf(`tessera:${nodeId}`)
      if (index === undefined) throw new Error(`${nodeId} is connected to no server of the cluster`)
      await servers[index]!.kill()
      return index
    },
    async stop() {
      await Promise.all(servers.map((s) => s.stop()))
      await Promise.all(stores.map((dir) => rm(dir, { recursive: true, force: true })))
    },
    [Symbol.asyncDispose]: () => cluster.stop(),
  }
  try {
    for (const [i, p] of ports.entries()) {
      const routes = ports.filter((q) => q !== p).map((q) => `nats-route://127.0.0.1:${q.route}`)
      const store = options.jetstream ? await mkdtemp(join(tmpdir(), 'tessera-jsc-')) : undefined
      if (store) stores.push(store)
      const server = await startNatsServer({
        port: p.client,
        extraConfig: [
          `server_name: n${i + 1}`,
          `http: 127.0.0.1:${p.http}`,
          `cluster { name: tessera, listen: 127.0.0.1:${p.route}, routes: [${routes.join(', ')}] }`,
          ...(store ? [`jetstream { store_dir: ${JSON.stringify(store)} }`] : []),
          // Appended after the helper's own listen line, so it wins.
          ...(options.address ? [`listen: ${options.address}:${p.client}`] : []),
        ].join('\n'),
      })
      servers.push(
        options.address ? Object.assign(server, { url: `nats://${options.address}:${p.client}` }) : server,
      )
    }
    await cluster.routed()
  } catch (err) {
    await cluster.stop()
    throw err
  }
  return cluster
}

// The number of routes a server reports, or undefined when it does not answer (down).
async function routeCount(httpPort: number): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/routez`)
    const body = (await res.json()) as { num_routes?: number }
    return body.num_routes ?? 0
  } catch {
    return undefined
  }
}

// Whether a server knows its JetStream meta leader (false when down or still electing).
async function metaLeader(httpPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/jsz`)
    const body = (await res.json()) as { meta_cluster?: { leader?: string } }
    return Boolean(body.meta_cluster?.leader)
  } catch {
    return false
  }
}

// The names of a server's client connections, or undefined when it does not answer.
async function connectionNames(httpPort: number): Promise<string[] | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/connz?limit=1024`)
    const body = (await res.json()) as { connections?: { name?: string }[] }
    return (body.connections ?? []).map((c) => c.name ?? '')
  } catch {
    return undefined
  }
}
