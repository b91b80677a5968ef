// HTTP through a gateway to a service in another process, beside the reference points:
// a bare `node:http` hello world, a fastify hello world, and moleculer-web calling a
// Moleculer service over its TCP transporter (0.10 → 0.14 on Node 20, 0.11 → 0.15 on the
// Node 24 line; the row names say which). Servers are peer processes
// (bench/peers/http-*.ts); the load generator is this process (autocannon's API, 64
// connections, 127.0.0.1 only). The two gateways validate the same input (`name`, a
// string of 1..64) and answer the same body; the hello worlds validate nothing (they are
// the limit of the HTTP server, not peers). All systems are started and warmed up, then
// measured in ROUNDS interleaved rounds of BENCH_MS each. Reported per system: the median
// req/s, p99 and CPU time its server processes spent per request, each with its spread
// (lowest–highest round). CPU per request (all threads, from /proc schedstat) is what
// other work on the shared cores disturbs least; the gateway process's own is a row too,
// as it is the one that runs out of CPU first.

import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { freePort } from '../test/support/nats-server.ts'
import { cpuNanos, medianOf } from './lib/measure.ts'
import { moleculerName } from './lib/moleculer.ts'
import { type Peer, startPeer } from './lib/peer.ts'
import type { Row } from './lib/report.ts'

export const HTTP = 'http, 64 connections'
const CONNECTIONS = 64
const ROUNDS = 5
/** Every system answers this path (the gateways validate `ada` as the `name` input). */
const PATH = '/hello/ada'

const webVersion = (createRequire(import.meta.url)('moleculer-web/package.json') as { version: string })
  .version
const NODE = 'node:http hello world'
const FASTIFY = 'fastify hello world'
const MOL_WEB = `moleculer-web ${webVersion.split('.').slice(0, 2).join('.')} → ${moleculerName} TCP`
const TESSERA = 'tessera gateway → socket'

type NamedPeer = Peer & { name: string }

/** Every round of one system: req/s, p99 (µs), CPU µs per request of each of its processes. */
interface Rounds {
  name: string
  peers: NamedPeer[]
  rate: number[]
  p99: number[]
  cpu: number[][]
}

interface System {
  name: string
  url: string
  peers: NamedPeer[]
  rounds: Rounds
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
      systems.push({ name, url, peers, rounds: { name, peers, rate: [], p99: [], cpu: [] } })
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
  return rows(systems.map((s) => s.rounds).filter((r) => r.rate.length > 0))
}

/** One round of one system: its req/s, p99 and each process's CPU per request. */
async function measure({ name, url, peers, rounds }: System, round: number, ms: number): Promise<void> {
  try {
    const before = peers.map((p) => cpuNanos(p.pid))
    const got = await load(url, ms)
    const after = peers.map((p) => cpuNanos(p.pid))
    rounds.rate.push(got.rate)
    rounds.p99.push(got.p99)
    const each = after.map((t, i) => (t - before[i]!) / 1_000 / got.requests)
    if (each.every(Number.isFinite)) rounds.cpu.push(each)
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

function rows(results: Rounds[]): Row[] {
  const out: Row[] = []
  const row = (name: string, values: number[], unit: string, lowerIsBetter: boolean): Row => {
    const { median, spread } = medianOf(values)
    return { group: HTTP, name, value: median, unit, spread, ...(lowerIsBetter ? { lowerIsBetter } : {}) }
  }
  const median = (name: string) => {
    const r = results.find((x) => x.name === name)
    return r ? medianOf(r.rate).median : undefined
  }
  for (const r of results) {
    const out1 = row(r.name, r.rate, 'req/s', false)
    if (r.name === TESSERA) {
      out1.baseline = [MOL_WEB, FASTIFY, NODE]
      out1.aim = `>= 2x ${MOL_WEB}, >= 0.6x ${FASTIFY}`
      const [web, fastify] = [median(MOL_WEB), median(FASTIFY)]
      if (web !== undefined && fastify !== undefined)
        out1.met = out1.value >= 2 * web && out1.value >= 0.6 * fastify
    }
    out.push(out1)
  }
  for (const r of results) {
    const p99 = row(`${r.name} p99`, r.p99, 'µs', true)
    if (r.name === TESSERA) p99.baseline = [`${MOL_WEB} p99`, `${FASTIFY} p99`]
    out.push(p99)
  }
  for (const r of results) {
    if (r.cpu.length === 0) continue
    const total = row(`${r.name} server CPU/req`, r.cpu.map(sum), 'µs', true)
    if (r.name === TESSERA) total.baseline = [`${MOL_WEB} server CPU/req`, `${FASTIFY} server CPU/req`]
    out.push(total)
  }
  // The process in front (the gateway) of each two-process system on its own: the one
  // whose single thread bounds req/s.
  for (const r of results) {
    if (r.cpu.length === 0 || r.peers.length < 2) continue
    const last = r.peers.length - 1
    const front = row(
      `${r.name} gateway process CPU/req`,
      r.cpu.map((c) => c[last]!),
      'µs',
      true,
    )
    if (r.name === TESSERA) front.baseline = `${MOL_WEB} gateway process CPU/req`
    out.push(front)
  }
  return out
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0)
}
