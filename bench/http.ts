// HTTP through a gateway to a service in another process, beside the reference points:
// a bare `node:http` hello world, a fastify hello world, and moleculer-web 0.10 calling a
// Moleculer 0.14 service over its TCP transporter. Servers are peer processes
// (bench/peers/http-*.ts); the load generator is this process (autocannon's API, 64
// connections, 127.0.0.1 only). All systems are started and warmed up, then measured in
// ROUNDS interleaved rounds of BENCH_MS each. Reported: the best req/s, the best p99, and
// the least CPU time the system's server processes spent per request (steadier than
// req/s when other work competes for the machine's two cores).
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { freePort } from '../test/support/nats-server.ts'
import { type Peer, startPeer } from './lib/peer.ts'
import type { Row } from './lib/report.ts'

export const HTTP = 'http, 64 connections'
const CONNECTIONS = 64
const ROUNDS = 3
/** Every system answers this path (the gateways validate `ada` as the `name` input). */
const PATH = '/hello/ada'

const NODE = 'node:http hello world'
const FASTIFY = 'fastify hello world'
const MOL_WEB = 'moleculer-web → moleculer 0.14 TCP'
const TESSERA = 'tessera gateway → socket'

type NamedPeer = Peer & { name: string }

interface Result {
  name: string
  rate: number
  p99: number
  /** CPU time (user + system) of all the system's server processes per request, µs. */
  cpu: number
}

interface System {
  name: string
  url: string
  peers: NamedPeer[]
  result: Result
}

export async function benchHttp(ms: number): Promise<Row[]> {
  // BENCH_FILTER=<text>: only the systems whose name contains it (e.g. 'tessera').
  const filter = process.env.BENCH_FILTER
  const systems: System[] = []
  const all: NamedPeer[] = []
  const setUp = async (name: string, start: (peers: NamedPeer[]) => Promise<string>) => {
    if (filter && !name.includes(filter)) return
    const peers: NamedPeer[] = []
    try {
      const url = `${await start(peers)}${PATH}`
      await load(url, 1_000) // warm-up: JIT, connections, caches
      const result = { name, rate: 0, p99: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY }
      systems.push({ name, url, peers, result })
    } catch (err) {
      console.error(`${name}: ${(err as Error).stack ?? err}`)
    }
  }
  const spawn = async (peers: NamedPeer[], name: string, env: Record<string, string> = {}) => {
    const peer = await startPeer(name, env)
    all.push({ ...peer, name })
    peers.push({ ...peer, name })
    return peer.info
  }
  const dir = await mkdtemp(join(tmpdir(), 'tb-http-'))
  try {
    await setUp(NODE, (peers) => spawn(peers, 'http-node'))
    await setUp(FASTIFY, (peers) => spawn(peers, 'http-fastify'))
    await setUp(MOL_WEB, async (peers) => {
      const [service, gateway, http] = [await freePort(), await freePort(), await freePort()]
      const urls = [`127.0.0.1:${service}/mol-http-service`, `127.0.0.1:${gateway}/mol-http-gateway`]
      const link = { MOL_TCP_URLS: urls.join(',') }
      await spawn(peers, 'http-moleculer-service', { ...link, MOL_TCP_PORT: String(service) })
      return spawn(peers, 'http-moleculer-web', {
        ...link,
        MOL_TCP_PORT: String(gateway),
        HTTP_PORT: String(http),
      })
    })
    await setUp(TESSERA, async (peers) => {
      const env = { TESSERA_DIR: join(dir, 'tessera') }
      await spawn(peers, 'http-tessera-service', env)
      return spawn(peers, 'http-tessera-gateway', env)
    })
    // Rounds interleave the systems (all of them are up, the idle ones wait), so a burst
    // of other work on the shared machine hits every system rather than one.
    for (let round = 0; round < ROUNDS; round++) {
      for (const system of systems) await measure(system, round, ms)
    }
  } finally {
    for (const p of all.reverse()) await p.stop().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
  return rows(systems.map((s) => s.result).filter((r) => r.rate > 0))
}

/** One round of one system; keeps the best req/s, p99 and CPU per request seen so far. */
async function measure({ name, url, peers, result }: System, round: number, ms: number): Promise<void> {
  try {
    const before = cpuMs(peers)
    const got = await load(url, ms)
    const after = cpuMs(peers)
    result.rate = Math.max(result.rate, got.rate)
    result.p99 = Math.min(result.p99, got.p99)
    if (!before || !after) return
    const each = after.map((t, i) => ((t - before[i]!) * 1_000) / got.requests)
    result.cpu = Math.min(
      result.cpu,
      each.reduce((a, b) => a + b, 0),
    )
    // BENCH_VERBOSE=1: each round's numbers, CPU per request split by process.
    if (process.env.BENCH_VERBOSE) {
      const split = each.map((c, i) => `${peers[i]!.name} ${c.toFixed(1)} µs`).join(', ')
      console.error(`${name} round ${round + 1}: ${Math.round(got.rate)} req/s, CPU/req ${split}`)
    }
  } catch (err) {
    console.error(`${name} round ${round + 1}: ${(err as Error).stack ?? err}`)
  }
}

/**
 * `ms` of load at CONNECTIONS connections: requests per second and the p99 latency in µs
 * (from each response's time: autocannon's own histogram counts whole milliseconds).
 * Fails on any error or non-2xx answer.
 */
async function load(url: string, ms: number): Promise<{ rate: number; p99: number; requests: number }> {
  const times: number[] = []
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const options = { url, connections: CONNECTIONS, duration: ms / 1_000, timeout: 5 }
    const instance = autocannon(options, (err, res) => (err ? reject(err) : resolve(res)))
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      times.push(responseTime)
    })
  })
  const failed = result.errors + result.timeouts + result.non2xx
  if (failed > 0 || result.requests.total === 0) {
    throw new Error(`${url}: ${failed} failed of ${result.requests.total} requests`)
  }
  const sorted = Float64Array.from(times).sort()
  return {
    rate: result.requests.total / (ms / 1_000),
    p99: sorted[Math.floor(sorted.length * 0.99)]! * 1_000,
    requests: result.requests.total,
  }
}

/**
 * CPU time used so far by each peer process, in ms (Linux: utime + stime from
 * /proc/<pid>/stat, in clock ticks of 10 ms); undefined where /proc is not there.
 * On a shared machine req/s depends on who else runs; CPU per request much less so.
 */
function cpuMs(peers: Peer[]): number[] | undefined {
  try {
    return peers.map((p) => {
      const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return (Number(fields[11]) + Number(fields[12])) * 10 // utime + stime (fields 14, 15 of the line)
    })
  } catch {
    return undefined
  }
}

function rows(results: Result[]): Row[] {
  const get = (name: string) => results.find((r) => r.name === name)
  const out: Row[] = []
  const molWeb = get(MOL_WEB)
  const fastify = get(FASTIFY)
  for (const r of results) {
    const row: Row = { group: HTTP, name: r.name, value: r.rate, unit: 'req/s' }
    if (r.name === TESSERA) {
      row.baseline = [MOL_WEB, FASTIFY, NODE]
      row.aim = `>= 2x ${MOL_WEB}, >= 0.5x ${FASTIFY}`
      if (molWeb && fastify) row.met = r.rate >= 2 * molWeb.rate && r.rate >= 0.5 * fastify.rate
    }
    out.push(row)
  }
  for (const r of results) {
    const row: Row = { group: HTTP, name: `${r.name} p99`, value: r.p99, unit: 'µs', lowerIsBetter: true }
    if (r.name === TESSERA) row.baseline = [`${MOL_WEB} p99`, `${FASTIFY} p99`]
    out.push(row)
  }
  for (const r of results) {
    if (!Number.isFinite(r.cpu)) continue
    const name = `${r.name} server CPU/req`
    const row: Row = { group: HTTP, name, value: r.cpu, unit: 'µs', lowerIsBetter: true }
    if (r.name === TESSERA) row.baseline = [`${MOL_WEB} server CPU/req`, `${FASTIFY} server CPU/req`]
    out.push(row)
  }
  return out
}
