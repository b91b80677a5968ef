import { createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { type Broker, createBroker } from '../../broker/index.ts'
import { systemClock } from '../../context/index.ts'
import type { ContractDiff } from '../../contract/index.ts'
import { TesseraError } from '../../errors/index.ts'
import { type Authority, createAuthority, type NodeCredential } from '../../identity/index.ts'
import type { Logger } from '../../observability/index.ts'
import type { SpanRecord } from '../../tracing/index.ts'
import type { Transport } from '../../transport/index.ts'
import type { NatsCredentials } from '../../transport/nats/index.ts'
import { buildUnit, buildUnits, removeBuild, type UnitBuild } from '../build/index.ts'
import { deferredTransport } from '../config/deferred-transport.ts'
import {
  configError,
  createTransport,
  defaultTransportKinds,
  planUnits,
  type ResolvedTransport,
  resolveTransport,
  type ServiceConfig,
  type SystemConfig,
  startOrder,
  type TransportKinds,
  transportKindOf,
  type UnitSpec,
  validateSystem,
} from '../config/index.ts'
import { CLIENT_UNIT, loadNatsLogins, type NatsLogins, SUPERVISOR_UNIT } from '../config/nats-logins.ts'
import { ensurePrivateDir } from '../files/index.ts'
import { cgroupCpu, cgroupMemory } from '../isolation/index.ts'
import { containerLauncher, type InstanceLauncher, processLauncher } from '../launcher/index.ts'
import {
  createLogFiles,
  instanceRecord,
  type LogFiles,
  type LogRecord,
  supervisorRecord,
} from '../logs/index.ts'
import { TraceStore } from '../traces/index.ts'
import type { AutoscaleStatus } from './autoscaler.ts'
import { describeBuild } from './contract-check.ts'
import { contractUse } from './contract-use.ts'
import { defaultRestartPolicy } from './crash-history.ts'
import { describeEvent, type Progress, type SupervisorEvent } from './events.ts'
import { ProcStats } from './proc-stats.ts'
import { metricsScraper } from './scrape-metrics.ts'
import {
  type InstanceStatus,
  type Timing,
  type UnitContext,
  UnitRunner,
  type UnitState,
} from './unit-runner.ts'
import { awaitVisible } from './visibility.ts'

export interface SupervisorOptions {
  config: SystemConfig
  /** Folder that entries and `stateDir` are relative to. Default: the working directory. */
  root?: string
  /** Every event, as it happens (the CLI prints them). */
  onEvent?: (event: SupervisorEvent) => void
  /**
   * Every line an instance writes, already attributed (`users#2`): the line as written and
   * the record filed for it in the unit's log (`formatLogRecord` makes it readable).
   */
  onLog?: (label: string, line: string, record: LogRecord) => void
  /** Try cgroup v1 memory limits (before the heap-limit fallback) and CPU quotas. Default true. Ignored with `launcher`. */
  cgroups?: boolean
  /**
   * How instances start. Default `processLauncher()`: child processes, with cgroup memory
   * limits and CPU quotas unless `cgroups` is false.
   */
  launcher?: InstanceLauncher
  /**
   * How instances of an `isolation: 'container'` unit start. Default `containerLauncher`
   * with this system's state key as its label (its `prepare` runs at `up`).
   */
  containerLauncher?: InstanceLauncher & { prepare?(): Promise<unknown> }
  /**
   * The transport kinds this runtime knows, by config `transport.kind` (default: socket
   * and NATS, `defaultTransportKinds`). The tsx fallback (`build: false`) always uses the
   * default table: its instances load no supervisor options.
   */
  transports?: TransportKinds
  /**
   * The identity authority of the system (decision 0013). Default: a new one, in memory.
   * The agents of one system on many hosts pass the same one (src/runtime/hosts), so
   * their instances accept each other.
   */
  authority?: Authority
  /**
   * What names this system's shared resources (the NATS namespace, the socket folder).
   * Default: a hash of the state dir. Agents on many hosts, each with its own state dir,
   * pass one key so they join one system.
   */
  stateKey?: string
}

export interface UnitStatus {
  name: string
  /** Services its instances host (entries known to be adapters are in `adapters`). */
  services: string[]
  /** Adapters its instances run (`defineAdapter`), once one was ready. */
  adapters: string[]
  /** Its shared listening socket (config `listen`). */
  listen: { host: string; port: number } | undefined
  state: UnitState
  restarts: number
  /** Config `autoscale`: bounds, target, the value measured and the last step. */
  autoscale?: AutoscaleStatus
  instances: (InstanceStatus & { rssBytes: number | undefined; cpuPercent: number | undefined })[]
}

export interface SystemStatus {
  system: string
  transport: ResolvedTransport['kind']
  units: UnitStatus[]
}

export interface Supervisor extends AsyncDisposable {
  readonly config: SystemConfig
  readonly stateDir: string
  readonly logsDir: string
  /** Transport settings instances use; a test or tool can join the system with them. */
  readonly transport: ResolvedTransport
  /**
   * A broker hosting nothing, joined to the system: it can call any service whose
   * `callers` rule allows the unit `supervisor`, and may assert a principal (it acts
   * for the operator). Started by `up`.
   */
  readonly caller: Broker
  /** Recent traces its instances recorded (config `tracing`), bounded; the control API serves them. */
  readonly traces: TraceStore
  /**
   * What a node that joins this system from outside its config (a test, a tool) needs:
   * a credential of this system for `createBroker({ nodeId: node, credential, transport })`,
   * and a transport carrying it (on NATS with the login of `unit`, default `client`).
   * The unit names the caller for `callers` rules. Never log the credential.
   *
   * @example
   * const { credential, transport } = await sup.join({ node: 'ops-1' })
   * const broker = createBroker({ nodeId: 'ops-1', credential, transport })
   */
  join(options: { node: string; unit?: string; assertsPrincipal?: boolean; logger?: Logger }): Promise<{
    credential: NodeCredential
    transport: Transport & AsyncDisposable
  }>
  /**
   * Starts every unit in dependency order (a unit after all it depends on serve).
   * Resolves with the units that failed (crash loop) or were skipped because a dependency failed.
   */
  up(progress?: Progress): Promise<{ failed: string[] }>
  /** Drains everything, dependents first, then leaves. Idempotent. */
  down(progress?: Progress): Promise<void>
  status(): SystemStatus
  /**
   * The whole system in Prometheus text format: each instance's metrics (asked over IPC,
   * labelled `unit` and `instance`) and the supervisor's own series. An instance that does
   * not answer within ~1 s is left out (`tessera_instance_up` 0) and logged; never rejects
   * because of one.
   */
  metrics(): Promise<{ contentType: string; text: string }>
  scale(unit: string, instances: number, progress?: Progress): Promise<void>
  /**
   * Rolling restart on the code on disk; when that is new code, checked as a deploy is
   * (refused with CONFLICT when its contract breaks callers or subscribers, unless `force`).
   */
  restart(unit: string, progress?: Progress, options?: { force?: boolean }): Promise<void>
  /**
   * Rolls the unit to the code on disk. Refused with CONFLICT and the contract diff when
   * the new version can break callers or subscribers, unless `force`.
   */
  deploy(unit: string, progress?: Progress, options?: { force?: boolean }): Promise<void>
  /** What deploying the unit's code on disk would change in its contract (nothing is deployed). */
  diff(unit: string, progress?: Progress): Promise<ContractDiff[]>
  add(name: string, service: ServiceConfig, progress?: Progress): Promise<void>
  remove(name: string, progress?: Progress): Promise<void>
  /**
   * Stops one instance by its label (`users#2`): SIGTERM, or SIGKILL with `kill`; its slot
   * restarts it as after a crash. Resolves once the replacement serves (UnitRunner.stopInstance).
   */
  stopInstance(label: string, options?: { kill?: boolean }, progress?: Progress): Promise<void>
  /** Where a unit's shared socket listens (config `listen`); undefined if it has none or has not started. */
  address(unit: string): { host: string; port: number } | undefined
  /** The runner of a unit, or of the group hosting a service; rejects with NOT_FOUND. */
  unit(name: string): UnitRunner
  subscribe(listener: (event: SupervisorEvent) => void): () => void
  close(): Promise<void>
}

/**
 * Creates the supervisor of one system: it owns every instance process, their logs and
 * a caller broker. Nothing runs until `up`; `close` (= `down`) stops all it started.
 * A unit name is a service name, or a group name for services sharing a process;
 * operations given a grouped service's name act on its group.
 *
 * @example
 * await using sup = createSupervisor({ config, root: import.meta.dirname })
 * await sup.up()
 * await sup.deploy('users', (line) => process.stdout.write(`${line}\n`))
 */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  let config = options.config
  const issues = validateSystem(config)
  if (issues.length > 0) throw configError(issues)
  const root = resolve(options.root ?? process.cwd())
  const stateDir = resolve(root, config.stateDir ?? '.tessera')
  const stateKey = options.stateKey ?? createHash('sha256').update(stateDir).digest('hex').slice(0, 8)
  const kinds = options.transports ?? defaultTransportKinds
  const transport = resolveTransport(config, stateKey, kinds)
  const transportKind = transportKindOf(kinds, transport.kind)
  const logsDir = join(stateDir, 'logs')
  const buildDir = join(stateDir, 'build')
  const listeners = new Set<(event: SupervisorEvent) => void>()
  if (options.onEvent) listeners.add(options.onEvent)
  const runners = new Map<string, UnitRunner>()
  const stats = new ProcStats()
  const traces = new TraceStore()
  const tracing = tracingOf(config)
  const scrape = metricsScraper()
  let logs: LogFiles | undefined
  let downing: Promise<void> | undefined
  // What the transport kind serves while the system is up (the socket kind's event store).
  let served: { close(): Promise<void> } | undefined
  // One authority per supervisor lifetime, in memory only: every instance it starts gets a
  // credential from it, so a process it did not start cannot join (decision 0013).
  const authority = options.authority ?? createAuthority()
  // On NATS each unit has its own server login too (decision 0014), unless the config names
  // one shared login for all. Read from the state dir, so loaded at `up` (and after `add`).
  const perUnitLogins =
    transport.kind === 'nats' && config.transport?.kind === 'nats' && !config.transport.credentials
  let logins: NatsLogins | undefined
  const loadLogins = async (): Promise<void> => {
    if (perUnitLogins) logins = await loadNatsLogins(config, root)
  }
  const loginFor = (unit: string): NatsCredentials | undefined => logins?.loginFor(unit)
  const issue = (o: { node: string; unit: string; assertsPrincipal: boolean }) =>
    authority.issue({ node: o.node, unit: o.unit, services: [], assertsPrincipal: o.assertsPrincipal })
  const callerId = `${config.name}-supervisor-${stateKey}-${process.pid}`
  const callerCredential = issue({ node: callerId, unit: SUPERVISOR_UNIT, assertsPrincipal: true })
  const caller = createBroker({
    nodeId: callerId,
    transport: deferredTransport(transport.kind, async () => {
      await loadLogins()
      return createTransport(transport, undefined, callerCredential, loginFor(SUPERVISOR_UNIT), kinds)
    }),
    credential: callerCredential,
  })

  const emit = (event: SupervisorEvent) => {
    for (const l of listeners) l(event)
    if ('unit' in event && event.type !== 'progress')
      logs?.append(event.unit, supervisorRecord(event, describeEvent(event)))
  }
  const timing: Timing = {
    pingIntervalMs: config.health?.pingIntervalMs ?? 1000,
    pingTimeoutMs: config.health?.pingTimeoutMs ?? 5000,
    readyTimeoutMs: config.health?.readyTimeoutMs ?? 30_000,
    drainTimeoutMs: config.drain?.timeoutMs ?? 10_000,
    drainGraceMs: config.drain?.graceMs ?? 300,
  }
  let ctx: UnitContext | undefined
  let containers: SupervisorOptions['containerLauncher']
  const container = () =>
    (containers ??= options.containerLauncher ?? containerLauncher({ system: stateKey }))

  const context = async (): Promise<UnitContext> => {
    if (!ctx) await loadLogins()
    ctx ??= {
      system: config.name,
      root,
      transport,
      transportDirs: transportKind.instanceDirs(transport),
      timing,
      restartPolicy: { ...defaultRestartPolicy, ...config.restart },
      launcher:
        options.launcher ??
        (options.cgroups === false
          ? processLauncher()
          : processLauncher({ cgroup: await cgroupMemory(), cpuCgroup: await cgroupCpu() })),
      launchers: { container: container() },
      clock: systemClock,
      emit,
      onLine(unit, label, line, stream = 'stdout') {
        const record = instanceRecord(line, unit, label, stream)
        logs?.append(unit, record)
        options.onLog?.(label, line, record)
      },
      awaitVisible: (nodeId, services) => awaitVisible(caller.registry, nodeId, services, 5000),
      // A deploy compares the contracts of the running and the new build (contract-check.ts).
      describe: (spec, build) => describeBuild(ctx!, spec, build),
      contractUse: async (services) =>
        contractUse(services, (await supervisor.metrics()).text, caller.registry),
      // A unit that serves outside traffic (config `listen`, e.g. the HTTP gateway) verifies
      // its users and may say whom a call is for; no other unit may.
      credentialFor: (nodeId, spec) => {
        const natsLogin = loginFor(spec.name)
        const credential = authority.issue({
          node: nodeId,
          unit: spec.name,
          services: spec.services.map((s) => s.name),
          assertsPrincipal: spec.listen !== undefined,
          // Its code may add services of its own (the gateway's event subscriber), but
          // never one that another unit owns.
          ...(spec.listen !== undefined
            ? {
                hostsAnyExcept: Object.keys(config.services).filter(
                  (name) => !spec.services.some((s) => s.name === name),
                ),
              }
            : {}),
        })
        return natsLogin ? { credential, natsLogin } : { credential }
      },
      build:
        config.build === false
          ? undefined
          : (spec: UnitSpec) =>
              buildUnit({
                unit: spec.name,
                services: spec.services,
                transport: transportKind.instanceModule,
                outDir: buildDir,
                root,
              }),
      buildDir,
      ...(tracing ? { tracing, onSpans: (spans: SpanRecord[]) => traces.add(spans) } : {}),
      ...(callMetricsOf(config) ? {} : { callMetrics: false as const }),
    }
    return ctx
  }

  const unitProgress = (unit: string, progress: Progress | undefined): Progress => {
    return (message) => {
      emit({ type: 'progress', unit, message })
      progress?.(`${unit}: ${message}`)
    }
  }

  const unit = (name: string): UnitRunner => {
    const runner =
      runners.get(name) ?? [...runners.values()].find((r) => r.spec.services.some((s) => s.name === name))
    if (!runner) throw new TesseraError('NOT_FOUND', `no service or group named ${name} in ${config.name}`)
    return runner
  }

  const startUnit = async (spec: UnitSpec, progress?: Progress, prebuilt?: Promise<UnitBuild>) => {
    const runner = new UnitRunner(spec, await context())
    runners.set(spec.name, runner)
    await runner.start(unitProgress(spec.name, progress), prebuilt)
  }

  const supervisor: Supervisor = {
    get config() {
      return config
    },
    stateDir,
    logsDir,
    transport,
    caller,
    traces,
    async join(o) {
      await loadLogins()
      const unit = o.unit ?? CLIENT_UNIT
      const credential = issue({ node: o.node, unit, assertsPrincipal: o.assertsPrincipal ?? false })
      return {
        credential,
        transport: createTransport(transport, o.logger, credential, loginFor(unit), kinds),
      }
    },
    async up(progress) {
      if (runners.size > 0 || downing) throw new TesseraError('CONFLICT', `${config.name} is already up`)
      // Logs, builds and control.json live here: this user's only, also when it existed looser.
      ensurePrivateDir(stateDir)
      logs = createLogFiles(logsDir)
      served = await transportKind.serve?.(transport, { stateDir })
      const ctx = await context()
      const units = planUnits(config, root)
      // podman and the image checked; containers an earlier supervisor of this system left (it was killed) go.
      if (units.some((u) => u.isolation === 'container')) await container().prepare?.()
      // Every unit builds in one esbuild run while the caller joins: a unit then waits
      // only for its dependencies to serve. Builds of an earlier run go first.
      const builds = new Map<string, Promise<UnitBuild>>()
      if (ctx.build) {
        await rm(buildDir, { recursive: true, force: true })
        const all = buildUnits(
          units.map((u) => ({ unit: u.name, services: u.services })),
          { transport: transportKind.instanceModule, outDir: buildDir, root },
        )
        for (const [i, build] of all.entries()) {
          build.catch(() => {})
          builds.set(units[i]!.name, build)
        }
      }
      await caller.start()
      const failed = new Set<string>()
      for (const level of startOrder(units)) {
        await Promise.all(
          level.map(async (spec) => {
            const blocked = spec.dependsOn.filter((d) => failed.has(d))
            if (blocked.length > 0) {
              failed.add(spec.name)
              progress?.(`${spec.name}: not started, depends on ${blocked.join(', ')}`)
              builds.get(spec.name)?.then(removeBuild, () => {})
              return
            }
            try {
              await startUnit(spec, progress, builds.get(spec.name))
            } catch (err) {
              failed.add(spec.name)
              progress?.(`${spec.name}: ${(err as Error).message}`)
            }
          }),
        )
      }
      return { failed: [...failed] }
    },
    down(progress) {
      downing ??= (async () => {
        const levels = startOrder([...runners.values()].map((r) => r.spec)).reverse()
        for (const level of levels) {
          await Promise.all(
            level.map(async (spec) => {
              unitProgress(spec.name, progress)('draining')
              await runners.get(spec.name)?.stop()
            }),
          )
        }
        await caller.stop()
        await served?.close()
        logs?.close()
      })()
      return downing
    },
    status() {
      return {
        system: config.name,
        transport: transport.kind,
        units: [...runners.values()].map((r) => ({
          name: r.spec.name,
          services: r.spec.services.map((s) => s.name).filter((n) => !r.adapters.has(n)),
          adapters: [...r.adapters],
          listen: r.address,
          state: r.state,
          restarts: r.restarts,
          ...(r.autoscale ? { autoscale: r.autoscale } : {}),
          instances: r.status().map((i) => {
            const sample = i.pid === undefined ? undefined : stats.sample(i.pid)
            // /proc gives nothing on its first sample of a pid (or off Linux): the
            // instance's own figures from its last pong fill in.
            const own = i.pid === undefined ? undefined : r.instances().find((p) => p.pid === i.pid)
            return {
              ...i,
              rssBytes: sample?.rssBytes ?? own?.rssBytes,
              cpuPercent: sample?.cpuPercent ?? own?.cpuPercent,
            }
          }),
        })),
      }
    },
    metrics: () =>
      scrape({
        system: config.name,
        runners: runners.values(),
        onSkipped(unit, instance) {
          ctx?.onLine(
            unit,
            'supervisor',
            `metrics: ${instance} did not answer within 1 s, left out of this scrape`,
          )
        },
      }),
    scale(name, instances, progress) {
      const runner = unit(name)
      return runner.scale(instances, unitProgress(runner.spec.name, progress))
    },
    restart(name, progress, options) {
      const runner = unit(name)
      return runner.restart(unitProgress(runner.spec.name, progress), options)
    },
    deploy(name, progress, options) {
      const runner = unit(name)
      return runner.deploy(unitProgress(runner.spec.name, progress), options)
    },
    diff(name, progress) {
      const runner = unit(name)
      return runner.diff(unitProgress(runner.spec.name, progress))
    },
    async add(name, service, progress) {
      if (downing) throw new TesseraError('CONFLICT', `${config.name} is shutting down`)
      if (config.services[name])
        throw new TesseraError('CONFLICT', `${config.name} already has a service ${name}`)
      const next: SystemConfig = { ...config, services: { ...config.services, [name]: service } }
      const problems = validateSystem(next)
      if (problems.length > 0) throw configError(problems)
      const spec = planUnits(next, root).find((u) => u.name === name)!
      config = next
      await loadLogins() // a login for the new unit (the NATS server must be given it too)
      await startUnit(spec, progress)
    },
    async remove(name, progress) {
      const runner = unit(name)
      if (runner.spec.name !== name)
        throw new TesseraError(
          'CONFLICT',
          `${name} runs in group ${runner.spec.name}; remove the group's services from the config instead`,
        )
      const dependents = Object.entries(config.services)
        .filter(([, s]) => s.dependsOn?.includes(name))
        .map(([n]) => n)
      if (dependents.length > 0)
        throw new TesseraError('CONFLICT', `${dependents.join(', ')} depend(s) on ${name}; remove them first`)
      unitProgress(name, progress)('draining')
      await runner.stop()
      runners.delete(name)
      const { [name]: _removed, ...rest } = config.services
      config = { ...config, services: rest }
      unitProgress(name, progress)('removed')
    },
    async stopInstance(label, o, progress) {
      const hash = label.lastIndexOf('#')
      const runner = runners.get(hash > 0 ? label.slice(0, hash) : '')
      if (!runner) throw new TesseraError('NOT_FOUND', `no instance ${label} (labels look like users#1)`)
      return runner.stopInstance(label, o?.kill === true, unitProgress(runner.spec.name, progress))
    },
    unit,
    address: (name) => runners.get(name)?.address,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close: () => supervisor.down(),
    [Symbol.asyncDispose]: () => supervisor.down(),
  }
  return supervisor
}

/**
 * The tracing every instance gets: config `tracing`, `TESSERA_TRACE_SAMPLE` over its
 * ratio (default 0.1), `OTEL_EXPORTER_OTLP_ENDPOINT` when no endpoint is configured.
 * Undefined when nothing is sampled.
 */
/** Whether instances record per-action call metrics: config `metrics.calls`, `TESSERA_CALL_METRICS` over it. */
function callMetricsOf(config: SystemConfig): boolean {
  const fromEnv = process.env.TESSERA_CALL_METRICS
  if (fromEnv === '0' || fromEnv === 'false') return false
  if (fromEnv === '1' || fromEnv === 'true') return true
  return config.metrics?.calls ?? true
}

function tracingOf(config: SystemConfig): { sampleRatio: number; otlpEndpoint?: string } | undefined {
  const fromEnv = process.env.TESSERA_TRACE_SAMPLE
  const parsed = fromEnv === undefined || fromEnv === '' ? undefined : Number(fromEnv)
  if (parsed !== undefined && !(parsed >= 0 && parsed <= 1)) {
    throw new TesseraError('BAD_REQUEST', `TESSERA_TRACE_SAMPLE must be a number from 0 to 1, got ${fromEnv}`)
  }
  const sampleRatio = parsed ?? config.tracing?.sampleRatio ?? 0.1
  if (sampleRatio === 0) return undefined
  const otlpEndpoint = config.tracing?.otlpEndpoint ?? (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined)
  return otlpEndpoint ? { sampleRatio, otlpEndpoint } : { sampleRatio }
}
