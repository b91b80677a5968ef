/**
 * What every instance process runs, whichever way it was started: the supervisor's
 * build of the unit (`node <stateDir>/build/<unit>/<n>.mjs`, the default) or the tsx
 * fallback (`node --import tsx bootstrap.ts`). Spawned with an IPC channel and
 * TESSERA_INSTANCE in its environment.
 *
 * Start: joins the transport with no service, waits until the services it calls are
 * visible, then hosts its own (so no call reaches it before it can make its own calls)
 * and sends `ready`; adapters (`defineAdapter`) start after the services, before `ready`,
 * and close first on stop (no new work, in-flight finished) before the broker drains. Liveness: answers `ping` with `pong` from the event loop, so a
 * blocked loop stays silent. Stop: SIGTERM, SIGINT or `drain` → `broker.stop()` (peers
 * told first, in-flight calls answered) → exit 0. A start failure (also an entry that
 * throws while it is imported) sends `failed` and exits 1.
 */
import { createBroker } from '../../broker/index.ts'
import type { AnyService } from '../../contract/index.ts'
import type { NodeCredential } from '../../identity/index.ts'
import { createInstanceMetrics, metricsInstrumentation } from '../../metrics/index.ts'
import {
  combineInstrumentation,
  type Instrumentation,
  jsonLogger,
  type Logger,
  type LogLevelName,
} from '../../observability/index.ts'
import type { Transport } from '../../transport/index.ts'
import type { NatsCredentials } from '../../transport/nats/index.ts'
import { type AdapterDefinition, isAdapter, type RunningAdapter } from '../adapter.ts'
import type { ResolvedTransport } from '../config/units.ts'
import { describeServices } from './describe-services.ts'
import { startStandalone } from './health-server.ts'
import { counted, pickEntry } from './load-service.ts'
import { type FromInstance, INSTANCE_ENV, type InstanceEnv, type ToInstance } from './protocol.ts'

export interface InstanceProgram {
  /** Imports one service entry (by its absolute path, as in TESSERA_INSTANCE). */
  load(entry: string): Promise<Record<string, unknown>>
  transport(
    config: ResolvedTransport,
    logger: Logger,
    credential?: NodeCredential,
    natsLogin?: NatsCredentials,
  ): Transport
}

export async function runInstance(program: InstanceProgram): Promise<void> {
  // Without a supervisor (a container), TESSERA_HEALTH_PORT: HTTP probes take its messages.
  const standalone = await startStandalone()
  const env = standalone?.env ?? (JSON.parse(process.env[INSTANCE_ENV] ?? 'null') as InstanceEnv | null)
  if (!env || (!process.send && !standalone)) {
    process.stderr.write(
      `tessera instance: run by the supervisor only (${INSTANCE_ENV} and IPC missing), or set TESSERA_HEALTH_PORT\n`,
    )
    process.exit(2)
  }

  const send = (msg: FromInstance): void => {
    if (standalone) standalone.send(msg)
    else process.send?.(msg)
  }
  if (env.describe)
    await describeServices(program.load, env, (msg, done) => {
      if (process.send) process.send(msg, undefined, {}, () => done?.())
      else done?.()
    })
  const logger = instanceLogger(env)
  let handled = 0
  // Default process metrics and the broker's per-action series; the supervisor asks for them (`metrics?`).
  const metrics = createInstanceMetrics()
  // Spans go to the supervisor's trace store (and OTLP when configured); with sampling 0 the
  // tracing module is never loaded and the broker keeps its uninstrumented path for it.
  const tracing = await startTracing(env, send)
  const instrumentation = combineInstrumentation(
    env.callMetrics === false ? undefined : metricsInstrumentation(metrics.registry),
    tracing?.instrumentation,
  )
  // A container gets both from its Secrets (the credential made from its unit's delegation).
  const secrets =
    env.identity && !standalone
      ? await receiveCredential(env.readyTimeoutMs)
      : standalone && { credential: standalone.credential, natsLogin: standalone.natsLogin }
  const credential = secrets?.credential
  const broker = createBroker({
    nodeId: env.nodeId,
    transport: program.transport(env.transport, logger, credential, secrets?.natsLogin),
    ...(credential ? { credential } : {}),
    logger,
    drainTimeoutMs: env.drainTimeoutMs,
    drainGraceMs: env.drainGraceMs,
    ...(instrumentation ? { instrumentation } : {}),
  })

  let stopping = false
  const running: { name: string; adapter: RunningAdapter }[] = []
  const stop = (why: string): void => {
    if (stopping) return
    stopping = true
    void (async () => {
      logger.info({ why }, 'draining')
      standalone?.draining()
      await Promise.all(
        running.map(({ name, adapter }) =>
          adapter.close().catch((err: unknown) => {
            logger.error(
              { adapter: name, err: (err as Error)?.message ?? String(err) },
              'adapter close failed',
            )
          }),
        ),
      )
      await broker.stop()
      await tracing?.shutdown().catch(() => {}) // the last spans reach the supervisor before exit
      logger.info({}, 'stopped')
      await standalone?.close()
      process.disconnect?.()
      process.exit(0)
    })()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  // Ctrl-C in a terminal reaches the whole process group. An instance with a supervisor
  // leaves the decision to it (it drains everything in order); one started alone stops.
  process.on('SIGINT', () => {
    if (!process.send) stop('SIGINT')
  })
  process.on('message', (msg: ToInstance) => {
    switch (msg.type) {
      case 'ping': {
        const cpu = process.cpuUsage()
        send({
          type: 'pong',
          n: msg.n,
          handled,
          inFlight: broker.inFlight,
          cpuMicros: cpu.user + cpu.system,
          uptimeMs: Math.round(process.uptime() * 1000),
          rssBytes: process.memoryUsage.rss(),
        })
        return
      }
      case 'metrics?':
        void metrics.snapshot().then(
          (snapshot) => send({ type: 'metrics', n: msg.n, metrics: snapshot }),
          (err: unknown) => logger.warn({ err: (err as Error)?.message ?? String(err) }, 'metrics failed'),
        )
        return
      case 'drain':
        stop('drain requested')
        return
    }
  })
  // The supervisor went away without stopping us: drain rather than linger as an orphan.
  process.on('disconnect', () => stop('supervisor disconnected'))

  try {
    // Importing the entries overlaps joining the transport (connecting to every peer).
    const loading = Promise.all(
      env.services.map(async (spec) => pickEntry(spec, await program.load(spec.entry))),
    )
    loading.catch(() => {})
    await broker.start()
    const entries = await loading
    const services = entries.filter((e): e is AnyService => !isAdapter(e))
    const adapters = entries.filter(isAdapter)
    if (env.needs.length > 0) await broker.waitFor(env.needs, env.readyTimeoutMs)
    for (const service of services) await broker.addService(counted(service, () => void handled++))
    for (const adapter of adapters) await startAdapter(adapter)
    if (stopping) return
    send({
      type: 'ready',
      services: services.map((s) => ({ name: s.name, version: s.version })),
      adapters: adapters.map((a) => a.name),
    })
    logger.info(
      { services: services.map((s) => `${s.name}@${s.version}`), adapters: adapters.map((a) => a.name) },
      'ready',
    )
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    logger.error(
      { err: message, ...(err instanceof Error && err.stack ? { stack: err.stack } : {}) },
      'start failed',
    )
    send({ type: 'failed', message })
    await Promise.all(running.map((r) => r.adapter.close().catch(() => {})))
    await broker.stop().catch(() => {})
    process.exit(1)
  }

  async function startAdapter(adapter: AdapterDefinition): Promise<void> {
    const started = await adapter.start(broker, {
      listen: env!.listen,
      drain: { timeoutMs: env!.drainTimeoutMs, graceMs: env!.drainGraceMs },
      logger: logger.child({ adapter: adapter.name }),
      instrumentation,
    })
    running.push({ name: adapter.name, adapter: started })
    // Stopped while it was starting: the stop already ran without it.
    if (stopping) await started.close()
  }
}

/** The instance's tracing, or undefined when the system samples nothing. */
async function startTracing(
  env: InstanceEnv,
  send: (msg: FromInstance) => void,
): Promise<{ instrumentation: Instrumentation | undefined; shutdown(): Promise<void> } | undefined> {
  const config = env.tracing
  if (!config || !(config.sampleRatio > 0)) return undefined
  const { createTracing } = await import('../../tracing/index.ts')
  return createTracing({
    service: env.services.map((s) => s.name).join('+') || env.nodeId,
    sampleRatio: config.sampleRatio,
    ...(config.otlpEndpoint ? { otlpEndpoint: config.otlpEndpoint } : {}),
    sink: (spans) => send({ type: 'spans', spans }),
    attributes: { 'tessera.node': env.nodeId },
  })
}

/**
 * Asks the supervisor for this instance's credential and waits for it. Exits 1 when none
 * comes in time: an instance without its credential would be refused by every peer.
 */
function receiveCredential(
  timeoutMs: number,
): Promise<{ credential: NodeCredential; natsLogin?: NatsCredentials }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      process.stderr.write('tessera instance: no credential from the supervisor in time\n')
      process.exit(1)
    }, timeoutMs)
    const onMessage = (msg: ToInstance) => {
      if (msg.type !== 'credential') return
      clearTimeout(timer)
      process.off('message', onMessage)
      resolve(msg)
    }
    process.on('message', onMessage)
    process.send?.({ type: 'credential?' } satisfies FromInstance)
  })
}

/**
 * pino JSON lines on stdout, which the supervisor files per unit (adding the instance
 * label). Every line names the unit's services and this node; `TESSERA_LOG_LEVEL`
 * (e.g. in a service's `env`) lowers or raises the level, default `info`.
 */
const LOG_LEVELS: readonly LogLevelName[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

function instanceLogger(env: InstanceEnv): Logger {
  const asked = process.env.TESSERA_LOG_LEVEL
  // A misspelt level must not stop the instance (pino throws on one): it is ignored.
  const level = LOG_LEVELS.find((l) => l === asked)
  return jsonLogger({
    bindings: { service: env.services.map((s) => s.name).join('+'), node: env.nodeId },
    ...(level ? { level } : {}),
  })
}
