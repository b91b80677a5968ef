// Durable events beside at-most-once events on both transports that have them: on one real
// nats-server (-js) over 127.0.0.1 (JetStream), and on the socket transport with its event
// store (decision 0026; served in this process, as the supervisor would in its own). An
// emitter node and a subscriber node in this process, so the end-to-end latency is read
// on one clock. `npm run bench` rows (BENCH_ONLY=events).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createBroker } from 'tessera/broker'
import { defineService, durable, subscribe, Type } from 'tessera/contract'
import type { Transport } from 'tessera/transport'
import { natsTransport } from 'tessera/transport/nats'
import { createEventStore, socketTransport } from 'tessera/transport/socket'
import { startNatsServer } from '../test/support/nats-server.ts'
import type { Row } from './lib/report.ts'

const Tick = Type.Object({ at: Type.Number() })
type Emit = (event: 'tick.plain' | 'tick.durable', at: number) => Promise<void>
const makeTicker = (ready: (emit: Emit) => void) =>
  defineService({
    name: 'ticker',
    events: { 'tick.plain': Tick, 'tick.durable': durable(Tick) },
    actions: () => ({}),
    started: (kit) => ready((event, at) => kit.emit(event, { at })),
  })
type TickerService = ReturnType<typeof makeTicker>

interface Phase {
  perSec: number
  /** Emitted in the throughput phase but never handled (at most once drops under overload). */
  lost: number
  p50: number
  p99: number
  /** Events stored per fsync in the throughput run (socket store only). */
  perSync: number | undefined
}

/** Where the two nodes meet: a fresh system per measurement, its store on disk under a temp dir. */
interface Net {
  transport(): Transport
  /** Events stored per fsync so far, where the store tells (group commit at work). */
  perSync?(): number
  close(): Promise<void>
}

async function natsNet(ns: string): Promise<Net> {
  const store = mkdtempSync(join(tmpdir(), 'bench-js-'))
  const server = await startNatsServer({ extraConfig: `jetstream { store_dir: ${JSON.stringify(store)} }` })
  return {
    transport: () => natsTransport({ servers: server.url, namespace: ns }),
    async close() {
      await server.stop()
      rmSync(store, { recursive: true, force: true })
    },
  }
}

async function socketNet(): Promise<Net> {
  const root = mkdtempSync(join(tmpdir(), 'bench-sk-'))
  const dir = join(root, 'sock')
  const store = await createEventStore({ dir: join(root, 'events'), socketPath: join(dir, '.events.sock') })
  return {
    transport: () => socketTransport({ dir, durable: store }),
    perSync: () => store.stats().stored / Math.max(1, store.stats().syncs),
    async close() {
      await store.close()
      rmSync(root, { recursive: true, force: true })
    },
  }
}

/** Throughput with `window` emits in flight for `ms`, then latency of one event at a time (n). */
async function measure(kind: 'plain' | 'durable', ms: number, net: Net): Promise<Phase> {
  const ns = `bench${kind}`
  let handled = 0
  let lost = 0
  const latencies: number[] = []
  let waiter: (() => void) | undefined
  const sink = defineService({
    name: 'sink',
    actions: () => ({}),
    on: subscribe<TickerService>({
      [`tick.${kind}`]: {
        mode: 'balanced',
        ...(kind === 'durable' && { durable: true }),
        handler: ({ at }: { at: number }) => {
          handled++
          latencies.push(performance.now() - at)
          waiter?.()
        },
      },
    }),
  })
  const consumer = createBroker({
    nodeId: `${ns}-sink`,
    services: [sink],
    transport: net.transport(),
  })
  let emit: Emit | undefined
  const source = makeTicker((e) => {
    emit = e
  })
  const producer = createBroker({
    nodeId: `${ns}-ticker`,
    services: [source],
    transport: net.transport(),
  })
  try {
    await consumer.start()
    await producer.start()
    await producer.waitFor(['sink'])
    const send = (at: number) => (emit as Emit)(`tick.${kind}`, at)
    // Throughput: a window of emits in flight, counted by the handler. An at-most-once emit
    // resolves at once, so each loop yields now and then to let the I/O run.
    const window = 64
    let emitted = 0
    const end = performance.now() + ms
    const started = performance.now()
    await Promise.all(
      Array.from({ length: window }, async () => {
        while (performance.now() < end) {
          await send(performance.now())
          if (++emitted % 16 === 0) await new Promise((r) => setImmediate(r))
        }
      }),
    )
    const drainEnd = performance.now() + 15_000
    while (handled < emitted && performance.now() < drainEnd) await new Promise((r) => setTimeout(r, 10))
    const perSec = (handled / (performance.now() - started)) * 1000
    lost = emitted - handled
    const perSync = net.perSync?.()
    await new Promise((r) => setTimeout(r, 500))
    // Latency: one event at a time, emit to handler.
    latencies.length = 0
    for (let i = 0; i < 300; i++) {
      const target = handled + 1
      const got = new Promise<void>((resolve) => {
        waiter = () => handled >= target && resolve()
      })
      await send(performance.now())
      await got
    }
    latencies.sort((a, b) => a - b)
    return {
      perSec,
      lost,
      perSync,
      p50: latencies[Math.floor(latencies.length * 0.5)] ?? Number.NaN,
      p99: latencies[Math.floor(latencies.length * 0.99)] ?? Number.NaN,
    }
  } finally {
    await producer.stop().catch(() => {})
    await consumer.stop().catch(() => {})
    await net.close()
  }
}

/** `npm run bench` rows (BENCH_ONLY=events). */
export async function benchEvents(ms: number): Promise<Row[]> {
  const nats = rows(
    'events on NATS (emitter and subscriber nodes, one server)',
    'durable (JetStream, acked)',
    await measure('plain', ms, await natsNet('benchplain')),
    await measure('durable', ms, await natsNet('benchdurable')),
  )
  const socket = rows(
    'events on the socket transport (emitter and subscriber nodes, the event store in this process)',
    'durable (event store, fsynced, acked)',
    await measure('plain', ms, await socketNet()),
    await measure('durable', ms, await socketNet()),
  )
  return [...nats, ...socket]
}

function rows(group: string, durableName: string, plain: Phase, stored: Phase): Row[] {
  const plainName = 'at most once'
  const perSync: Row[] =
    stored.perSync === undefined
      ? []
      : [
          {
            group,
            name: `${durableName}: events per fsync (group commit)`,
            value: stored.perSync,
            unit: 'events',
          },
        ]
  return [
    ...perSync,
    { group, name: `${plainName}: throughput`, value: plain.perSec, unit: 'events/s' },
    {
      group,
      name: `${durableName}: throughput`,
      value: stored.perSec,
      unit: 'events/s',
      baseline: `${plainName}: throughput`,
    },
    {
      group,
      name: `${plainName}: lost in the throughput run`,
      value: plain.lost,
      unit: 'events',
      lowerIsBetter: true,
    },
    {
      group,
      name: `${durableName}: lost in the throughput run`,
      value: stored.lost,
      unit: 'events',
      lowerIsBetter: true,
    },
    { group, name: `${plainName}: emit to handler p50`, value: plain.p50, unit: 'ms', lowerIsBetter: true },
    {
      group,
      name: `${durableName}: emit to handler p50`,
      value: stored.p50,
      unit: 'ms',
      lowerIsBetter: true,
      baseline: `${plainName}: emit to handler p50`,
    },
    { group, name: `${plainName}: emit to handler p99`, value: plain.p99, unit: 'ms', lowerIsBetter: true },
    {
      group,
      name: `${durableName}: emit to handler p99`,
      value: stored.p99,
      unit: 'ms',
      lowerIsBetter: true,
      baseline: `${plainName}: emit to handler p99`,
    },
  ]
}
