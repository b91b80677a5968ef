import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Broker } from '../../../src/broker/index.ts'
import { TesseraError } from '../../../src/errors/index.ts'
import type { Transport } from '../../../src/transport/index.ts'
import { natsTransport } from '../../../src/transport/nats/index.ts'
import { type SocketTransport, socketTransport } from '../../../src/transport/socket/index.ts'
import { type NatsServer, startNatsServer } from '../../support/nats-server.ts'
import type { ShopService } from './fixtures/services.ts'

const ledgerEntry = fileURLToPath(new URL('./fixtures/ledger-node.ts', import.meta.url))
const ordersEntry = fileURLToPath(new URL('./fixtures/orders-node.ts', import.meta.url))
const storeEntry = fileURLToPath(new URL('./fixtures/store-node.ts', import.meta.url))

/** Where a fixture process finds its transport: NATS, or the socket transport's folder and event store. */
export type TransportEnv =
  | { NATS_URL: string; NAMESPACE: string }
  | { SOCKET_DIR: string; STORE_SOCKET: string }

/** The reference orders (durable order.placed, outbox) in its own process; resolves once started. */
export function startOrders(env: TransportEnv & { ORDERS_DB: string; RELAY?: string }) {
  return startChild(ordersEntry, { ...env, NODE_ID: `orders-${Math.random().toString(36).slice(2, 8)}` })
}

/** A nats-server with JetStream, its store in a temp dir that survives `restart`. */
export function startJetStreamServer(extraConfig = ''): Promise<NatsServer> {
  const store = mkdtempSync(join(tmpdir(), 'tessera-js-'))
  return startNatsServer({ extraConfig: `jetstream { store_dir: ${JSON.stringify(store)} }\n${extraConfig}` })
}

/** The ledger's lines as `{ id, n }`; [] before the first. */
export function ledgerLines(file: string): { id: string; n: number }[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', n = ''] = line.split(' ')
      return { id, n: Number(n) }
    })
}

/** A ledger node in its own process; resolves once it consumes. Kill it by pid. */
export async function startLedger(
  env: TransportEnv & { LEDGER_FILE: string; DELAY_MS?: string },
  nodeId = 'ledger-1',
): Promise<ChildProcess> {
  return startChild(ledgerEntry, { ...env, NODE_ID: nodeId })
}

/**
 * A system on the socket transport: its folder and an event store in a process of its own
 * (as the supervisor serves it), which `kill` SIGKILLs and `start` starts again on the same log.
 */
export interface SocketSystem {
  env: { SOCKET_DIR: string; STORE_SOCKET: string }
  start(): Promise<void>
  kill(): Promise<void>
  /** A socket transport of this system, with durable events. */
  transport(): SocketTransport
}

export async function startSocketSystem(): Promise<SocketSystem> {
  const root = mkdtempSync(join(tmpdir(), 'tds-'))
  const env = { SOCKET_DIR: join(root, 'sock'), STORE_SOCKET: join(root, 'sock', '.events.sock') }
  let store: ChildProcess | undefined
  const system: SocketSystem = {
    env,
    async start() {
      store = await startChild(storeEntry, {
        STORE_DIR: join(root, 'events'),
        STORE_SOCKET: env.STORE_SOCKET,
      })
    },
    kill: () => killChild(store),
    transport: () => socketTransport({ dir: env.SOCKET_DIR, durable: { socketPath: env.STORE_SOCKET } }),
  }
  await system.start()
  return system
}

async function startChild(entry: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${entry} exited early with ${code}`)))
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve()
    })
  })
  return child
}

/** SIGKILLs a child (if alive) and resolves once it exited. */
export async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGKILL')
  await exited
}

/** A temp file path for a ledger. */
export function ledgerFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'tessera-ledger-')), 'ledger.txt')
}

/** Exactly `0..count-1` once each, and no id twice. */
export function tally(lines: { id: string; n: number }[], count: number) {
  const ns = new Set(lines.map((l) => l.n))
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !ns.has(i))
  const ids = new Set(lines.map((l) => l.id))
  return {
    lines: lines.length,
    missing,
    duplicateIds: lines.length - ids.size,
    duplicateNs: lines.length - ns.size,
  }
}

/** What `tally` gives for exactly `0..count-1`, each once. */
export const exactly = (count: number) => ({ lines: count, missing: [], duplicateIds: 0, duplicateNs: 0 })

/**
 * Sells `from..from+count-1` in order through `broker`'s shop, retrying a sale whose event
 * was not stored (UNAVAILABLE: the server or event store was down).
 */
export async function sell(broker: Broker, from: number, count: number): Promise<void> {
  const client = broker.client<ShopService>('shop')
  for (let n = from; n < from + count; n++) {
    for (;;) {
      try {
        await client.sell({ n })
        break
      } catch (err) {
        if (!(err instanceof TesseraError) || err.code !== 'UNAVAILABLE') throw err
        await new Promise((r) => setTimeout(r, 200))
      }
    }
  }
}

/** One system of a durable-events test as its fixtures see it: their env, and a transport of it here. */
export interface DurableSide {
  env: TransportEnv
  transport(): Transport
}

/** A transport with durable events that tests run the same scenario on; `side(ns)` is one system of it. */
export interface DurableKind {
  name: string
  side(namespace: string): Promise<DurableSide>
  stop(): Promise<void>
}

/** NATS with JetStream: one nats-server, a namespace per system. */
export function natsKind(): DurableKind {
  let nats: Promise<NatsServer> | undefined
  return {
    name: 'NATS JetStream',
    async side(namespace) {
      nats ??= startJetStreamServer()
      const { url } = await nats
      return {
        env: { NATS_URL: url, NAMESPACE: namespace },
        transport: () => natsTransport({ servers: url, namespace }),
      }
    },
    async stop() {
      await (await nats)?.stop()
    },
  }
}

/** The socket transport: a folder and an event store process per system. */
export function socketKind(): DurableKind {
  const systems = new Map<string, Promise<SocketSystem>>()
  return {
    name: 'the socket event store',
    async side(namespace) {
      let system = systems.get(namespace)
      if (!system) {
        system = startSocketSystem()
        systems.set(namespace, system)
      }
      const s = await system
      return { env: s.env, transport: () => s.transport() }
    },
    async stop() {
      for (const s of systems.values()) await (await s).kill()
    },
  }
}
