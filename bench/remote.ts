// Remote calls between two processes: the bench process is the client, a peer process
// (bench/peers/*.ts) serves `echo.ping`. Each system is measured with 64 calls in
// flight (throughput) and with one (latency), side by side with its reference points:
// a raw msgpack echo over a Unix socket (the realistic limit) and Moleculer 0.14.
// Rows are the best of 3 rounds (see ROUNDS).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ServiceBroker } from 'moleculer'
import { createBroker } from 'tessera/broker'
import type { Transport } from 'tessera/transport'
import { natsTransport } from 'tessera/transport/nats'
import { socketTransport } from 'tessera/transport/socket'
import { freePort, type NatsServer, startNatsServer } from '../test/support/nats-server.ts'
import { type EchoService, input, moleculerBase } from './lib/echo.ts'
import { latency, rate } from './lib/measure.ts'
import { moleculerTransporter } from './lib/moleculer.ts'
import { type Peer, startPeer } from './lib/peer.ts'
import { rawClient } from './lib/raw-client.ts'
import type { Row } from './lib/report.ts'

export const THROUGHPUT = 'remote call, 64 in flight'
export const LATENCY = 'remote call, 1 in flight'
/** Each system is measured in this many rounds; the best round is reported. */
const ROUNDS = 3

const RAW = 'raw unix-socket echo'
const T_SOCKET = 'tessera socket'
const M_TCP = 'moleculer 0.14 TCP'
const T_NATS = 'tessera NATS'
const M_NATS = 'moleculer 0.14 NATS'

interface Result {
  name: string
  rate: number
  p50: number
  p99: number
}

/** A client of one system: `call` makes one echo call; `close` tears the client down. */
interface Client {
  call: () => Promise<unknown>
  close: () => Promise<void>
}

export async function benchRemote(ms: number): Promise<Row[]> {
  const samples = Math.min(20_000, Math.max(2_000, Math.round(ms * 5)))
  const results: Result[] = []
  // BENCH_FILTER=<text>: only the systems whose name contains it (e.g. 'tessera socket').
  const filter = process.env.BENCH_FILTER
  const run = async (name: string, setup: (cleanup: Array<() => Promise<void>>) => Promise<Client>) => {
    if (filter && !name.includes(filter)) return
    const cleanup: Array<() => Promise<void>> = []
    try {
      const client = await setup(cleanup)
      cleanup.push(client.close)
      // BENCH_PART=throughput or latency: only that half (for profiling one of them).
      const part = process.env.BENCH_PART
      // Best of ROUNDS shorter rounds: the machine is shared (two vCPUs, other work), and a
      // round that lost its CPU to someone else says nothing about the code measured.
      let r = Number.NaN
      let p50 = Number.NaN
      let p99 = Number.NaN
      for (let round = 0; round < ROUNDS; round++) {
        if (part !== 'latency') {
          const got = await rate(client.call, {
            ms: ms / ROUNDS,
            warmupMs: round === 0 ? 500 : 100,
            concurrency: 64,
          })
          r = Number.isNaN(r) ? got : Math.max(r, got)
        }
        if (part !== 'throughput') {
          const got = await latency(client.call, Math.round(samples / ROUNDS))
          p50 = Number.isNaN(p50) ? got.p50 : Math.min(p50, got.p50)
          p99 = Number.isNaN(p99) ? got.p99 : Math.min(p99, got.p99)
        }
      }
      results.push({ name, rate: r, p50, p99 })
    } catch (err) {
      console.error(`${name}: ${(err as Error).stack ?? err}`)
    } finally {
      for (const c of cleanup.reverse()) await c().catch(() => {})
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'tb-'))
  try {
    await run(RAW, async (cleanup) => {
      const path = join(dir, 'raw.sock')
      const peer = await startPeer('raw-echo', { RAW_SOCKET: path })
      cleanup.push(peer.stop)
      const client = await rawClient(path)
      return { call: () => client.call(input), close: async () => client.close() }
    })
    await run(T_SOCKET, async (cleanup) => {
      const sockets = join(dir, 'tessera')
      cleanup.push(await peerStop('tessera', { TESSERA_DIR: sockets }))
      return tessera(socketTransport({ dir: sockets }))
    })
    await run(M_TCP, async (cleanup) => {
      const [server, client] = [await freePort(), await freePort()]
      const urls = [`127.0.0.1:${server}/mol-server`, `127.0.0.1:${client}/mol-client`]
      cleanup.push(
        await peerStop('moleculer', { MOL_TCP_PORT: String(server), MOL_TCP_URLS: urls.join(',') }),
      )
      return moleculer({ port: client, urls })
    })
    let nats: NatsServer | undefined
    try {
      nats = await startNatsServer()
      const url = nats.url
      await run(T_NATS, async (cleanup) => {
        cleanup.push(await peerStop('tessera', { NATS_URL: url }))
        return tessera(natsTransport({ servers: url, namespace: 'bench' }))
      })
      await run(M_NATS, async (cleanup) => {
        cleanup.push(await peerStop('moleculer', { NATS_URL: url }))
        return moleculer({ nats: url })
      })
    } catch (err) {
      console.error(`NATS benchmarks skipped: ${(err as Error).message}`)
    } finally {
      await nats?.stop()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return rows(results)
}

async function peerStop(name: string, env: Record<string, string>): Promise<() => Promise<void>> {
  const peer: Peer = await startPeer(name, env)
  return peer.stop
}

async function tessera(transport: Transport): Promise<Client> {
  const broker = createBroker({ nodeId: 'bench-client', transport })
  await broker.start()
  try {
    await broker.waitFor(['echo'], 10_000)
  } catch (err) {
    await broker.stop()
    throw err
  }
  const echo = broker.client<EchoService>('echo')
  return { call: () => echo.ping(input), close: () => broker.stop() }
}

async function moleculer(link: Parameters<typeof moleculerTransporter>[0]): Promise<Client> {
  const broker = new ServiceBroker({
    ...moleculerBase,
    nodeID: 'mol-client',
    transporter: moleculerTransporter(link),
  })
  await broker.start()
  try {
    await broker.waitForServices(['echo'], 10_000)
  } catch (err) {
    await broker.stop()
    throw err
  }
  return { call: () => broker.call('echo.ping', input), close: () => broker.stop() }
}

function rows(results: Result[]): Row[] {
  const get = (name: string) => results.find((r) => r.name === name)
  const out: Row[] = []
  const order = [RAW, M_TCP, T_SOCKET, M_NATS, T_NATS]
  const tput: Record<string, Partial<Row>> = {
    [T_SOCKET]: { baseline: [M_TCP, RAW], aim: `>= 2x ${M_TCP}, >= 0.6x ${RAW}` },
    [T_NATS]: { baseline: M_NATS, aim: `>= 1.5x ${M_NATS}` },
  }
  for (const name of order) {
    const r = get(name)
    if (r) out.push({ group: THROUGHPUT, name, value: r.rate, unit: 'calls/s', ...tput[name] })
  }
  const lat: Record<string, Partial<Row>> = {
    [T_SOCKET]: { baseline: [`${M_TCP} p50`, `${RAW} p50`] },
    [T_NATS]: { baseline: `${M_NATS} p50` },
  }
  for (const name of order) {
    const r = get(name)
    if (!r) continue
    const p50 = { ...lat[name], lowerIsBetter: true }
    out.push({ group: LATENCY, name: `${name} p50`, value: r.p50, unit: 'µs', ...p50 })
    const p99: Partial<Row> = name === T_SOCKET ? { aim: '< 200 µs' } : {}
    out.push({ group: LATENCY, name: `${name} p99`, value: r.p99, unit: 'µs', ...p99 })
  }
  // Whether the aims were met (only when both sides of a comparison were measured).
  const local = get(T_SOCKET)
  const raw = get(RAW)
  const molTcp = get(M_TCP)
  const nats = get(T_NATS)
  const molNats = get(M_NATS)
  for (const row of out) {
    if (row.group === THROUGHPUT && row.name === T_SOCKET && local && raw && molTcp)
      row.met = local.rate >= 2 * molTcp.rate && local.rate >= 0.6 * raw.rate
    if (row.group === THROUGHPUT && row.name === T_NATS && nats && molNats)
      row.met = nats.rate >= 1.5 * molNats.rate
    if (row.group === LATENCY && row.name === `${T_SOCKET} p99` && local) row.met = local.p99 < 200
  }
  return out
}
