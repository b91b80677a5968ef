/**
 * An instance run without a supervisor (a container: `tessera build image`) has no IPC
 * channel to report readiness on; it answers HTTP probes instead. Enabled by
 * `TESSERA_HEALTH_PORT` when the process has no IPC channel:
 *
 * | path | 200 when | else |
 * |---|---|---|
 * | `GET /healthz` (liveness) | the event loop answers (a blocked loop times the probe out) | — |
 * | `GET /readyz` (startup, readiness) | the instance sent `ready` and is not draining | 503 |
 *
 * The instance's messages to the supervisor (`ready`, `failed`, `spans`, …) come here
 * instead: `ready` opens readiness, `draining()` (SIGTERM) closes it again before the
 * broker drains. Listens on `TESSERA_HEALTH_HOST` (default 0.0.0.0: the kubelet probes the
 * pod's address). Spans have no supervisor to go to: only the OTLP export, when configured.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import { credentialFromDelegation, type NodeCredential, parseDelegation } from '../../identity/index.ts'
import type { NatsCredentials } from '../../transport/nats/index.ts'
import { type FromInstance, INSTANCE_ENV, type InstanceEnv } from './protocol.ts'

export const HEALTH_PORT_ENV = 'TESSERA_HEALTH_PORT'
/** The unit's delegation (`tessera build secrets`, from its Secret): the instance makes its own credential from it. */
export const IDENTITY_ENV = 'TESSERA_IDENTITY'

export interface Standalone {
  env: InstanceEnv
  /** The health server's port (the one asked for, or the one picked for 0). */
  port: number
  /** The unit's NATS login from the environment (a Secret), in place of the supervisor's. */
  natsLogin: NatsCredentials | undefined
  /** This node's credential, made from the unit's delegation in `TESSERA_IDENTITY` (a Secret); undefined without one. */
  credential: NodeCredential | undefined
  /** Takes the messages the supervisor would get. */
  send(msg: FromInstance): void
  /** Readiness answers 503 from now on. */
  draining(): void
  close(): Promise<void>
}

/**
 * The standalone side of an instance: undefined when the process has an IPC channel
 * (the supervisor runs it) or `TESSERA_HEALTH_PORT` is unset. Resolves once the health
 * server listens; rejects when the port is taken or `TESSERA_INSTANCE` is missing or not
 * JSON. Fills in what only a running container knows: a node id unique to this process
 * (from the host name, i.e. the pod), the NATS servers of `TESSERA_NATS_URL`
 * (comma-separated), the login of `TESSERA_NATS_NKEY_SEED`, `TESSERA_NATS_USER`/
 * `TESSERA_NATS_PASSWORD` or `TESSERA_NATS_TOKEN`, and a credential for that node id made
 * from the unit's delegation in `TESSERA_IDENTITY` (decision 0031; a malformed one rejects
 * with BAD_REQUEST: the instance must not start as a node its peers would refuse).
 */
export async function startStandalone(
  env: NodeJS.ProcessEnv = process.env,
  hasIpc = process.send !== undefined,
): Promise<Standalone | undefined> {
  const portText = env[HEALTH_PORT_ENV]
  if (hasIpc || !portText) return undefined
  const port = Number(portText)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`${HEALTH_PORT_ENV} must be a port number, got ${JSON.stringify(portText)}`)
  const instanceEnv = standaloneEnv(env)
  let ready = false
  let draining = false
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const answer = (status: number, body: object): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify(body))
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, { error: 'GET only' })
    if (path === '/healthz') return answer(200, { status: 'alive' })
    if (path === '/readyz') {
      if (ready && !draining) return answer(200, { status: 'ready' })
      return answer(503, { status: draining ? 'draining' : 'starting' })
    }
    answer(404, { error: 'not found' })
  })
  const identity = env[IDENTITY_ENV]
  const credential = identity
    ? credentialFromDelegation(parseDelegation(identity), instanceEnv.nodeId)
    : undefined
  await listen(server, port, env.TESSERA_HEALTH_HOST || '0.0.0.0')
  return {
    env: instanceEnv,
    port: (server.address() as AddressInfo).port,
    natsLogin: natsLoginOf(env),
    credential,
    send(msg) {
      if (msg.type === 'ready') ready = true
      if (msg.type === 'failed') ready = false
    },
    draining() {
      draining = true
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** TESSERA_INSTANCE as baked into the image, completed for this process. */
function standaloneEnv(env: NodeJS.ProcessEnv): InstanceEnv {
  const text = env[INSTANCE_ENV]
  if (!text) throw new Error(`${INSTANCE_ENV} is missing: the image sets it (tessera build image)`)
  const parsed = JSON.parse(text) as InstanceEnv
  const unit = parsed.services.map((s) => s.name).join('+')
  const nodeId = parsed.nodeId || `${unit}-${hostname()}-${Math.random().toString(36).slice(2, 8)}`
  const servers = (env.TESSERA_NATS_URL ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const transport =
    parsed.transport.kind === 'nats' && servers.length > 0
      ? { ...parsed.transport, servers }
      : parsed.transport
  return { ...parsed, nodeId, transport }
}

function natsLoginOf(env: NodeJS.ProcessEnv): NatsCredentials | undefined {
  if (env.TESSERA_NATS_NKEY_SEED) return { nkeySeed: env.TESSERA_NATS_NKEY_SEED }
  if (env.TESSERA_NATS_TOKEN) return { token: env.TESSERA_NATS_TOKEN }
  if (env.TESSERA_NATS_USER) return { user: env.TESSERA_NATS_USER, pass: env.TESSERA_NATS_PASSWORD ?? '' }
  return undefined
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port, host }, () => {
      server.off('error', reject)
      resolve()
    })
  })
}
