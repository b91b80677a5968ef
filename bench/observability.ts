// Tracing and metrics overhead: the same echo call with no instrumentation, with
// metrics alone (prom-client, as every runtime instance has them), and with tracing at
// 1 % and at 100 % sampling plus metrics (spans batched to a sink that drops them, as
// the runtime's IPC sink costs about the same), in process and over the socket
// transport. Each mode runs in a process of its own (peers/observability-mode.ts), as the
// runtime runs one broker per instance: brokers of four instrumentations in one process
// would make each other's call sites polymorphic and charge every mode for the others.
// Rows alternate in ROUNDS rounds, one process measuring at a time; each figure is the
// median of its rounds, the spread beside it. The aims are judged on CPU time per call
// (caller and callee are that process), which other work on the machine disturbs far less
// than calls/s; calls/s are shown beside.

import { medianOf } from './lib/measure.ts'
import { type Peer, startPeer } from './lib/peer.ts'
import type { Row } from './lib/report.ts'
import type { ObservabilityAsk } from './peers/observability-mode.ts'

const MODES = [
  { name: 'off', env: 'off', ratio: 0, metrics: false },
  { name: 'metrics', env: 'metrics', ratio: 0, metrics: true },
  { name: 'tracing 1% + metrics', env: 'tracing-1', ratio: 0.01, metrics: true },
  { name: 'tracing 100% + metrics', env: 'tracing-100', ratio: 1, metrics: true },
] as const
const ROUNDS = 5

type Measure = { rate: number; cpuMicros: number }

export async function benchObservability(ms: number): Promise<Row[]> {
  const rows: Row[] = []
  const inProc = 'observability: in-process call'
  const remote = 'observability: socket call, 64 in flight'
  const remoteLat = 'observability: socket call, 1 in flight'
  /** Per `<group>|<mode>`: calls/s and CPU µs per call of each round. */
  const rates = new Map<string, number[]>()
  const cpus = new Map<string, number[]>()
  const p99 = new Map<string, number>()
  const keep = (key: string, r: Measure) => {
    rates.set(key, [...(rates.get(key) ?? []), r.rate])
    cpus.set(key, [...(cpus.get(key) ?? []), r.cpuMicros])
  }
  const peers: { mode: (typeof MODES)[number]; peer: Peer }[] = []
  try {
    for (const mode of MODES)
      peers.push({ mode, peer: await startPeer('observability-mode', { OBS_MODE: mode.env }, { ipc: true }) })
    const ask = (peer: Peer, message: ObservabilityAsk) => peer.ask(message)
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? peers : [...peers].reverse()
      for (const { mode, peer } of order) {
        const k = mode.name
        keep(`${inProc}|${k}`, (await ask(peer, { kind: 'in-process', ms: ms / ROUNDS })) as Measure)
        keep(
          `${remote}|${k}`,
          (await ask(peer, { kind: 'socket', ms: ms / ROUNDS, concurrency: 64 })) as Measure,
        )
        const l = (await ask(peer, { kind: 'latency', n: 3_000 })) as { p99: number }
        p99.set(k, Math.min(p99.get(k) ?? Number.POSITIVE_INFINITY, l.p99))
      }
    }
    for (const { peer } of peers) await ask(peer, { kind: 'stop' })
  } finally {
    for (const { peer } of peers) await peer.stop()
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
