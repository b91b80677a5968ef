import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type NatsServer, startNatsServer } from '../../support/nats-server.ts'

const ledgerEntry = fileURLToPath(new URL('./fixtures/ledger-node.ts', import.meta.url))
const ordersEntry = fileURLToPath(new URL('./fixtures/orders-node.ts', import.meta.url))

/** The reference orders (durable order.placed, outbox) in its own process; resolves once started. */
export function startOrders(env: { NATS_URL: string; NAMESPACE: string; ORDERS_DB: string; RELAY?: string }) {
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
  env: { NATS_URL: string; NAMESPACE: string; LEDGER_FILE: string; DELAY_MS?: string },
  nodeId = 'ledger-1',
): Promise<ChildProcess> {
  return startChild(ledgerEntry, { ...env, NODE_ID: nodeId })
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
