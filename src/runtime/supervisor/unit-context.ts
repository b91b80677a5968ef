import type { Clock } from '../../context/index.ts'
import type { ContractUse, ServiceContract } from '../../contract/index.ts'
import type { NodeCredential } from '../../identity/index.ts'
import type { SpanRecord } from '../../tracing/index.ts'
import type { NatsCredentials } from '../../transport/nats/index.ts'
import type { UnitBuild } from '../build/index.ts'
import type { ResolvedTransport, UnitSpec } from '../config/index.ts'
import type { InstanceLauncher, Timing } from '../launcher/index.ts'
import type { RestartPolicy } from './crash-history.ts'
import type { SupervisorEvent } from './events.ts'

/** What a runner needs from the supervisor; passed in so a runner can be tested alone. */
export interface UnitContext {
  system: string
  root: string
  transport: ResolvedTransport
  /** Folders instances need for the transport (`TransportKind.instanceDirs`). */
  transportDirs: string[]
  timing: Timing
  restartPolicy: RestartPolicy
  /** Starts instances (`processLauncher()`: child processes). */
  launcher: InstanceLauncher
  /** Starts instances of units with another `isolation` (`container`); absent = `launcher`. */
  launchers?: { container?: InstanceLauncher }
  /** Crash times, restart delays, uptimes (`systemClock`; a fake one in tests). */
  clock: Clock
  emit(e: SupervisorEvent): void
  /** A line of an instance (`stream` default stdout) or of the supervisor about it. */
  onLine(unit: string, label: string, line: string, stream?: 'stdout' | 'stderr'): void
  /** Resolves once callers can see `nodeId` offering `services` (bounded: resolves anyway after a while). */
  awaitVisible(nodeId: string, services: string[]): Promise<void>
  /**
   * Bundles the unit's code as it is on disk now; undefined = no builds, instances run
   * the entries through tsx (`build: false`). Rejects with the build errors.
   */
  build: ((spec: UnitSpec) => Promise<UnitBuild>) | undefined
  /**
   * The contracts of the services a build defines (`describeBuild`: a short instance in
   * describe mode); undefined = deploys are not checked against the running contract.
   */
  describe?: (spec: UnitSpec, build: UnitBuild) => Promise<ServiceContract[]>
  /** Who calls and subscribes to these services now, for the diff to name (`contractUse`). */
  contractUse?: (services: string[]) => Promise<ContractUse>
  /** Removes a build no instance runs any more (default `removeBuild`: its files). */
  removeBuild?: (build: UnitBuild) => Promise<void>
  /** Where builds go (readable by instances under the permission model). */
  buildDir: string
  /** False: instances record no per-action call metrics (config `metrics.calls`). */
  callMetrics?: false
  /** The system's tracing, handed to every instance; spans it sends go to `onSpans`. */
  tracing?: { sampleRatio: number; otlpEndpoint?: string }
  onSpans?(spans: SpanRecord[]): void
  /**
   * A fresh credential for one instance (and its unit's NATS login), handed over IPC;
   * undefined = the system runs without credentials.
   */
  credentialFor?(
    nodeId: string,
    spec: UnitSpec,
  ): { credential: NodeCredential; natsLogin?: NatsCredentials } | undefined
}
