import type { ServiceContract } from '../../contract/index.ts'
import type { NodeCredential } from '../../identity/index.ts'
import type { MetricsSnapshot } from '../../metrics/index.ts'
import type { SpanRecord } from '../../tracing/index.ts'
import type { NatsCredentials } from '../../transport/nats/index.ts'
import type { UnitBuild } from '../build/index.ts'
import type { UnitSpec } from '../config/index.ts'
import type { InstanceState } from '../instance/instance-process.ts'
import type { InstanceEnv } from '../instance/protocol.ts'

export type { InstanceState }

/** Health and drain timing of every instance of a system (config `health`, `drain`). */
export interface Timing {
  pingIntervalMs: number
  pingTimeoutMs: number
  readyTimeoutMs: number
  drainTimeoutMs: number
  drainGraceMs: number
}

/**
 * One instance as the unit runner sees it, whatever runs it (a child process, a
 * container). The launcher keeps it current from the instance's messages: `ready` once
 * it hosts its services, the pong figures, the final state. Contract (what the runner
 * relies on): `ready` rejects when the instance exits, fails to start or is not ready
 * within `readyTimeoutMs`, and the launcher has then killed it; `exited` always resolves,
 * once, with `planned` true only for an exit caused by `stop`.
 */
export interface LaunchedInstance {
  /** `users#2`: the log prefix and the name in status. */
  readonly label: string
  readonly nodeId: string
  /** A process id on this host (for a container, the one the launcher watches); undefined if none started. */
  readonly pid: number | undefined
  /** When it was launched (the clock of the launcher). */
  readonly startedAt: number
  readonly state: InstanceState
  /** Services it hosts, with their versions (known once ready). */
  readonly versions: { name: string; version: string }[]
  /** Adapters it runs (known once ready). */
  readonly adapters: string[]
  /** Calls handled so far, calls handled per second, as of its last pong. */
  readonly handled: number
  readonly reqPerSec: number
  /** Handler runs in flight, as of its last pong (the autoscaler's `inFlight` target). */
  readonly inFlight: number
  /** What it reports of itself; undefined until it does. */
  readonly cpuPercent: number | undefined
  readonly rssBytes: number | undefined
  readonly ready: Promise<void>
  readonly exited: Promise<InstanceState & { type: 'exited' }>
  /** Drains it (it stops taking calls, answers those in flight, exits); killed if it takes too long. */
  stop(): Promise<void>
  /** Sends `signal` (default SIGKILL) now; the exit is a crash unless `stop` ran first. */
  kill(reason: string, signal?: NodeJS.Signals): void
  /** Its metrics, asked over its message channel; undefined if it does not answer within `timeoutMs`. Never rejects. */
  metrics(timeoutMs: number): Promise<MetricsSnapshot | undefined>
}

/**
 * Everything a launcher needs to start one instance. Nothing in it says how: the
 * process launcher turns `build` into `node <bundle>` with permission flags, a container
 * launcher would turn it into an image and mounts (docs/decisions/0017).
 */
export interface LaunchRequest {
  label: string
  nodeId: string
  unit: UnitSpec
  /** The bundle to run; undefined = the tsx fallback (`build: false`), entries from `unit.services`. */
  build: UnitBuild | undefined
  /** The folder builds live in (readable by the instance). */
  buildDir: string
  /** The system root: the instance's working directory, entries are beneath it. */
  root: string
  /**
   * What the instance is told at start (TESSERA_INSTANCE) except its shared socket:
   * how that reaches it is the launcher's business (`listen`).
   */
  env: Omit<InstanceEnv, 'listen'>
  /** The unit's shared listening socket (config `listen`): an fd of this process, with its address. */
  listen: { fd: number; host: string; port: number } | undefined
  /** Folders the transport needs read and write (`TransportKind.instanceDirs`). */
  transportDirs: string[]
  timing: Timing
  /** Handed to the instance over its message channel when it asks, never in its environment. */
  credential?: NodeCredential
  natsLogin?: NatsCredentials
  /** Each line the instance writes, and lines of the launcher about it (a limit it could not apply). */
  onLine(line: string, stream: 'stdout' | 'stderr'): void
  /** Finished spans the instance sent (config `tracing`). */
  onSpans?(spans: SpanRecord[]): void
  /** With `env.describe`: the contracts it reported (it exits after, never ready). */
  onContract?(services: ServiceContract[]): void
}

/**
 * How instances are started: the one part of the runtime that knows whether an instance
 * is a process, a container or something else. `launch` starts it at once and returns
 * the handle; failures to start show as `ready` rejecting and `exited` resolving, never
 * as a throw (a throw is a bug or bad input: the runner treats it as failure of its operation).
 */
export interface InstanceLauncher {
  /** `process`, `container`…: for logs and status. */
  readonly kind: string
  launch(request: LaunchRequest): LaunchedInstance
}
