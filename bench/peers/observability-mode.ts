// One observability mode (OBS_MODE: off, metrics, tracing-1, tracing-100) in a process of
// its own, as the runtime runs one instrumented broker per instance: an in-process echo
// broker, and a socket server and client pair (both sides instrumented, both in this
// process, so its CPU time per call covers caller and callee). bench/observability.ts
// asks it over IPC for one measure at a time, so the modes' rounds interleave while each
// process's call sites only ever see its own instrumentation.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { createBroker } from 'tessera/broker'
import { metricsInstrumentation } from 'tessera/metrics'
import { combineInstrumentation, type Instrumentation } from 'tessera/observability'
import { createTracing } from 'tessera/tracing'
import { socketTransport } from 'tessera/transport/socket'
import { type EchoService, echo, input } from '../lib/echo.ts'
import { cpuRate, latency } from '../lib/measure.ts'

export type ObservabilityAsk =
  | { kind: 'in-process'; ms: number }
  | { kind: 'socket'; ms: number; concurrency: number }
  | { kind: 'latency'; n: number }
  | { kind: 'stop' }

const mode = process.env.OBS_MODE ?? 'off'
const ratio = mode === 'tracing-1' ? 0.01 : mode === 'tracing-100' ? 1 : 0
const metrics = mode !== 'off'
const tracings = ['bench', 'echo', 'client'].map((service) =>
  createTracing({ service, sampleRatio: ratio, sink: () => {} }),
)
const opts = (i: number): { instrumentation?: Instrumentation } => {
  const instrumentation = combineInstrumentation(
    ratio > 0 ? tracings[i]!.instrumentation : undefined,
    metrics ? metricsInstrumentation(new Registry()) : undefined,
  )
  return instrumentation ? { instrumentation } : {}
}

const dir = await mkdtemp(join(tmpdir(), 'tb-obs-'))
const local = createBroker({ services: [echo], validateOutput: false, ...opts(0) })
const server = createBroker({
  nodeId: 'obs-server',
  services: [echo],
  validateOutput: false,
  transport: socketTransport({ dir }),
  ...opts(1),
})
const client = createBroker({ nodeId: 'obs-client', transport: socketTransport({ dir }), ...opts(2) })
for (const b of [local, server, client]) await b.start()
await client.waitFor(['echo'])
const inProcess = local.client<EchoService>('echo')
const remote = client.client<EchoService>('echo')

process.on('message', async (ask: ObservabilityAsk) => {
  if (ask.kind === 'stop') {
    for (const b of [local, server, client]) await b.stop()
    for (const t of tracings) await t.shutdown()
    await rm(dir, { recursive: true, force: true })
    process.send!({ stopped: true }, () => process.exit(0))
    return
  }
  const answer =
    ask.kind === 'in-process'
      ? await cpuRate(() => inProcess.ping(input), { ms: ask.ms })
      : ask.kind === 'socket'
        ? await cpuRate(() => remote.ping(input), { ms: ask.ms, concurrency: ask.concurrency })
        : await latency(() => remote.ping(input), ask.n)
  process.send!(answer)
})
process.on('SIGTERM', () => process.exit(0))
process.stdout.write('ready\n')
