// Tracing and metrics overhead: the same echo call with no instrumentation, with
// metrics alone (prom-client, as every runtime instance has them), and with tracing at
// 1 % and at 100 % sampling plus metrics (spans batched to a sink that drops them, as
// the runtime's IPC sink costs about the same), in process and over the socket
// transport between two brokers of this process (both sides instrumented). Rows
// alternate in ROUNDS rounds; each figure is the median of its rounds, the spread beside
// it. The aims are judged on CPU time per call (caller and callee are this process), which
// other work on the machine disturbs far less than calls/s; calls/s are shown beside.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { type Broker, createBroker } from 'tessera/broker'
import { metricsInstrumentation } from 'tessera/metrics'
import { combineInstrumentation, type Instrumentation } from 'tessera/observability'
import { createTracing, type Tracing } from 'tessera/tracing'
import { socketTransport } from 'tessera/transport/socket'
import { type EchoService, echo, input } from './lib/echo.ts'
import { cpuRate, latency, medianOf } from './lib/measure.ts'
import type { Row } from './lib/report.ts'

const MODES = [
  { name: 'off', ratio: 0, metrics: false },
  { name: 'metrics', ratio: 0, metrics: true },
  { name: 'tracing 1% + metrics', ratio: 0.01, metrics: true },
  { name: 'tracing 100% + metrics', ratio: 1, metrics: true },
] as const
const ROUNDS = 5

function tracing(ratio: number, unit: string): Tracing {
  return createTracing({ service: unit, sampleRatio: ratio, sink: () => {} })
}

function opts(t: Tracing, metrics: boolean): { instrumentation?: Instrumentation } {
  const instrumentation = combineInstrumentation(
    t.instrumentation,
    metrics ? metricsInstrumentation(new Registry()) : undefined,
  )
  return instrumentation ? { instrumentation } : {}
}

export async function benchObservability(ms: number): Promise<Row[]> {
  const rows: Row[] = []
  const inProc = 'observability: in-process call'
  const remote = 'observability: socket call, 64 in flight'
  const remoteLat = 'observability: socket call, 1 in flight'
  /** Per `<group>|<mode>`: calls/s and CPU µs per call of each round. */
  const rates = new Map<string, number[]>()
  const cpus = new Map<string, number[]>()
  const p99 = new Map<string, number>()
  const keep = (key: string, r: { rate: number; cpuMicros: number }) => {
    rates.set(key, [...(rates.get(key) ?? []), r.rate])
    cpus.set(key, [...(cpus.get(key) ?? []), r.cpuMicros])
  }
  const dir = await mkdtemp(join(tmpdir(), 'tb-obs-'))
  const setups = await Promise.all(
    MODES.map(async (mode, i) => {
      const tLocal = tracing(mode.ratio, 'bench')
      const local = createBroker({ services: [echo], validateOutput: false, ...opts(tLocal, mode.metrics) })
      await local.start()
      const tServer = tracing(mode.ratio, 'echo')
      const tClient = tracing(mode.ratio, 'client')
      const sockets = join(dir, String(i))
      const server = createBroker({
        nodeId: `obs-server-${i}`,
        services: [echo],
        validateOutput: false,
        transport: socketTransport({ dir: sockets }),
        ...opts(tServer, mode.metrics),
      })
      await server.start()
      const client = createBroker({
        nodeId: `obs-client-${i}`,
        transport: socketTransport({ dir: sockets }),
        ...opts(tClient, mode.metrics),
      })
      await client.start()
      await client.waitFor(['echo'])
      const brokers: Broker[] = [local, server, client]
      return {
        mode,
        local: local.client<EchoService>('echo'),
        remote: client.client<EchoService>('echo'),
        close: async () => {
          for (const b of brokers) await b.stop()
          for (const t of [tLocal, tServer, tClient]) await t.shutdown()
        },
      }
    }),
  )
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? setups : [...setups].reverse()
      for (const s of order) {
        const k = s.mode.name
        keep(`${inProc}|${k}`, await cpuRate(() => s.local.ping(input), { ms: ms / ROUNDS }))
        keep(
          `${remote}|${k}`,
          await cpuRate(() => s.remote.ping(input), { ms: ms / ROUNDS, concurrency: 64 }),
        )
        const l = await latency(() => s.remote.ping(input), 3_000)
        p99.set(k, Math.min(p99.get(k) ?? Number.POSITIVE_INFINITY, l.p99))
      }
    }
  } finally {
    for (const s of setups) await s.close()
    await rm(dir, { recursive: true, force: true })
  }
  for (const group of [inProc, remote]) {
    for (const mode of MODES) {
      const r = medianOf(rates.get(`${group}|${mode.name}`)!)
      const row: Row = { group, name: mode.name, value: r.median, spread: r.spread, unit: 'calls/s' }
      if (mode.ratio > 0 || mode.metrics) row.baseline = 'off'
      rows.push(row)
    }
    for (const mode of MODES) {
      const c = medianOf(cpus.get(`${group}|${mode.name}`)!)
      const row: Row = {
        group,
        name: `${mode.name} CPU/call`,
        value: c.median,
        spread: c.spread,
        unit: 'µs',
        lowerIsBetter: true,
      }
      if (mode.ratio > 0 || mode.metrics) {
        row.baseline = 'off CPU/call'
        row.aim = mode.ratio < 1 ? '>= 0.90x off' : '>= 0.75x off'
      }
      rows.push(row)
    }
  }
  for (const mode of MODES) {
    const row: Row = {
      group: remoteLat,
      name: `${mode.name} p99`,
      value: p99.get(mode.name)!,
      unit: 'µs',
      lowerIsBetter: true,
    }
    if (mode.ratio > 0 || mode.metrics) row.baseline = 'off p99'
    rows.push(row)
  }
  for (const row of rows) {
    if (row.aim && row.baseline) {
      const base = rows.find((r) => r.group === row.group && r.name === row.baseline)!
      row.met = base.value / row.value >= (row.aim.includes('0.90') ? 0.9 : 0.75)
    }
  }
  return rows
}
