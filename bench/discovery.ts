// Discovery at scale (issue 11, item 5): N simulated announcers spread over 3 processes
// (bench/discovery-child.ts, one NATS connection per process, one node subject per
// identity) against one nats-server, and one observer: a real natsTransport feeding a
// real Registry, in this process. Measured per run:
//
// - join: from the announcers' HELLOs until the observer's registry holds all N;
// - messages/s at rest, through the server (its /varz in_msgs and out_msgs), over 10 s;
// - leave: one process's announcers say BYE, until none is left in the registry;
// - crash: another process is SIGKILLed, until none of its announcers is left;
// - the observer's heap for its peer table and registry (after gc, per instance).
//
// Two protocols: 'probe' (decision 0023, the current one) and 'heartbeat' (announcers
// without tessera.nats.probe, each beating every 500 ms, judged by silence: the
// protocol before it). In 'heartbeat' the server delivers each beat once per process
// here; a fleet of real nodes, each subscribed to discovery, would take it N times:
// that figure is printed as well (fleet deliveries/s).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { natsTransport } from 'tessera/transport/nats'
import { Registry } from '../src/registry/index.ts'
import { freePort, startNatsServer } from '../test/support/nats-server.ts'
import { type SimProcess, startSims } from './discovery-sims.ts'
import type { Row } from './lib/report.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

export interface DiscoveryResult {
  instances: number
  mode: 'probe' | 'heartbeat'
  joinMs: number
  leaveMs: number
  crashMs: number
  /** Messages published into the server per second at rest. */
  inPerSec: number
  /** Messages the server delivered per second at rest. */
  outPerSec: number
  /** Deliveries per second at rest if every instance were a node subscribed to discovery. */
  fleetOutPerSec: number
  registryBytesPerInstance: number
}

const PROCESSES = 3

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`discovery bench: ${what} not reached in ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 5))
  }
  return Date.now()
}

async function varz(url: string): Promise<{ in: number; out: number; at: number }> {
  const v = (await (await fetch(`${url}/varz`)).json()) as { in_msgs: number; out_msgs: number; now: string }
  return { in: v.in_msgs, out: v.out_msgs, at: Date.parse(v.now) }
}

/** One run of `instances` announcers in `mode`; everything it starts is stopped, also on failure. */
export async function measureDiscovery(
  instances: number,
  mode: 'probe' | 'heartbeat',
): Promise<DiscoveryResult> {
  const httpPort = await freePort()
  const server = await startNatsServer({ extraConfig: `http: 127.0.0.1:${httpPort}` })
  const monitor = `http://127.0.0.1:${httpPort}`
  const sims: SimProcess[] = []
  const namespace = `scale${instances}${mode}`
  const transport = natsTransport({ servers: server.url, namespace })
  try {
    const per = Math.ceil(instances / PROCESSES)
    for (let p = 0; p < PROCESSES; p++) {
      const count = Math.min(per, instances - p * per)
      sims.push(await startSims({ natsUrl: server.url, namespace, count, prefix: `p${p}`, mode }))
    }
    gc()
    const heapBefore = process.memoryUsage().heapUsed
    const registry = new Registry('observer')
    const known = new Set<string>()
    await transport.start(
      { nodeId: 'observer', seq: 1, services: [] },
      {
        onMessage() {},
        onPeer(info) {
          known.add(info.nodeId)
          registry.upsert(info)
        },
        onPeerGone(nodeId, reason) {
          known.delete(nodeId)
          registry.remove(nodeId, reason)
        },
      },
    )
    const joinStart = Date.now()
    await Promise.all(sims.map((s) => s.hello()))
    const joined = await until('join', () => known.size === instances, 60_000)
    await new Promise((r) => setTimeout(r, 2_000))
    gc()
    const heapAfter = process.memoryUsage().heapUsed

    // 10 s: a whole number of probe rounds (1.25 s ± 10%) matters less over more of them.
    const a = await varz(monitor)
    await new Promise((r) => setTimeout(r, 10_000))
    const b = await varz(monitor)
    const restMs = b.at - a.at
    const inPerSec = ((b.in - a.in) * 1000) / restMs
    const outPerSec = ((b.out - a.out) * 1000) / restMs

    const leaving = sims[0]!
    const leaveStart = Date.now()
    await leaving.leave()
    const left = await until('leave', () => leaving.nodeIds.every((id) => !known.has(id)), 30_000)

    const crashing = sims[1]!
    await crashing.kill()
    const crashStart = Date.now()
    const crashed = await until('crash', () => crashing.nodeIds.every((id) => !known.has(id)), 30_000)
    return {
      instances,
      mode,
      joinMs: joined - joinStart,
      leaveMs: left - leaveStart,
      crashMs: crashed - crashStart,
      inPerSec,
      outPerSec,
      fleetOutPerSec: mode === 'heartbeat' ? inPerSec * instances : outPerSec,
      registryBytesPerInstance: (heapAfter - heapBefore) / instances,
    }
  } finally {
    await transport.close().catch(() => {})
    await Promise.all(sims.map((s) => s.stop()))
    await server.stop()
  }
}

/** `npm run bench` rows (BENCH_ONLY=discovery); BENCH_DISCOVERY_SIZES=1000,5000 by default. */
export async function benchDiscovery(): Promise<Row[]> {
  const sizes = (process.env.BENCH_DISCOVERY_SIZES ?? '1000,5000').split(',').map(Number)
  const rows: Row[] = []
  for (const n of sizes) {
    for (const mode of ['heartbeat', 'probe'] as const) {
      let r: DiscoveryResult
      try {
        r = await measureDiscovery(n, mode)
      } catch (err) {
        console.error(`discovery ${mode} at ${n}: ${(err as Error).message}`)
        continue
      }
      console.error(JSON.stringify(r))
      const group = `discovery, ${n} instances`
      const name = mode === 'probe' ? 'tessera probes (0023)' : 'heartbeats (before 0023)'
      const seen = mode === 'probe' ? { aim: 'within 2 s' } : {}
      rows.push(
        { group, name: `${name}: join converged`, value: r.joinMs, unit: 'ms', lowerIsBetter: true },
        {
          group,
          name: `${name}: SIGKILL seen`,
          value: r.crashMs,
          unit: 'ms',
          lowerIsBetter: true,
          ...seen,
          ...(mode === 'probe' ? { met: r.crashMs < 2_000 } : {}),
        },
        {
          group,
          name: `${name}: BYE seen`,
          value: r.leaveMs,
          unit: 'ms',
          lowerIsBetter: true,
          ...seen,
          ...(mode === 'probe' ? { met: r.leaveMs < 2_000 } : {}),
        },
        {
          group,
          name: `${name}: published at rest`,
          value: r.inPerSec / n,
          unit: 'msg/s per instance',
          lowerIsBetter: true,
          ...(mode === 'probe' ? { aim: 'under 1', met: r.inPerSec / n < 1 } : {}),
        },
        {
          group,
          name: `${name}: fleet deliveries at rest`,
          value: r.fleetOutPerSec / n,
          unit: 'msg/s per instance',
          lowerIsBetter: true,
        },
        {
          group,
          name: `${name}: observer registry`,
          value: r.registryBytesPerInstance,
          unit: 'bytes per instance',
          lowerIsBetter: true,
        },
      )
    }
  }
  return rows
}
