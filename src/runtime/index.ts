/**
 * The runtime: runs a whole system (one process per instance), supervises it, and
 * exposes live operations through a token-protected control API. `tessera/runtime`.
 *
 * An explicit list: planning, builds, crash bookkeeping, unit runners and the instance
 * IPC protocol are internals (tests reach them by relative path).
 */
export {
  type AdapterContext,
  type AdapterDefinition,
  defineAdapter,
  type RunningAdapter,
} from './adapter.ts'
export {
  type ConfigIssue,
  // Joins a running system from a tool or a test: `createTransport(sup.transport, logger, sup.issueCredential(...))`.
  createTransport,
  // The transport kinds a config may name, one entry each (`SupervisorOptions.transports`).
  defaultTransportKinds,
  defineSystem,
  type GroupConfig,
  // Per-unit NATS logins and the server config admitting them (`tessera nats-config`).
  loadNatsLogins,
  loadSystem,
  type NatsLogins,
  type ServiceConfig,
  type SystemConfig,
  type TransportConfig,
  type TransportFactory,
  type TransportKind,
  type TransportKinds,
  validateSystem,
} from './config/index.ts'
export {
  type ControlClient,
  type ControlLine,
  type ControlServer,
  type ControlServerOptions,
  type ControlState,
  controlClient,
  type DeadLetterOutcome,
  type RunningSystem,
  readControlState,
  removeControlState,
  type StartSystemOptions,
  startControlServer,
  startSystem,
  writeControlState,
} from './control/index.ts'
export { type WatchOptions, watchUnits } from './dev/index.ts'
// The folder rule of the runtime (0700, a looser one of this user tightened), for launchers
// that make state beside it (`tessera up --detach`, the reference system's data folder).
export { ensurePrivateDir } from './files/index.ts'
// One system over many hosts (`tessera up --host`): an agent per host over NATS JetStream
// (presence, slot leases, wanted counts), placement rules, the system key (docs/hosts.md).
export {
  type Agent,
  type AgentOptions,
  assignFree,
  type ClusterStatus,
  type HostInfo,
  loadSystemKey,
  mayRun,
  placementOf,
  type RunningHost,
  readyCount,
  type SlotOwner,
  type StartHostOptions,
  SYSTEM_KEY_FILE,
  type SystemKey,
  startAgent,
  startHostSystem,
} from './hosts/index.ts'
// How instances start (`SupervisorOptions.launcher`): a child process each by default.
export {
  type ContainerLauncher,
  type ContainerLauncherOptions,
  containerLauncher,
  type InstanceLauncher,
  type LaunchedInstance,
  type LaunchRequest,
  type ProcessLauncherOptions,
  processLauncher,
  type Timing,
} from './launcher/index.ts'
// Reading the per-unit JSON-lines logs: the tail matching a filter, new lines as they come.
export {
  type FollowLogsOptions,
  followLogs,
  formatLogRecord,
  type LevelName,
  type LogEntry,
  type LogFilter,
  type LogRecord,
  logUnits,
  parseLevel,
  parseSince,
  type ReadLogsOptions,
  readLogs,
} from './logs/index.ts'
export {
  type ContractMismatch,
  createSupervisor,
  describeEvent,
  type InstanceStatus,
  type Progress,
  type Supervisor,
  type SupervisorEvent,
  type SupervisorOptions,
  type SystemStatus,
  type UnitState,
  type UnitStatus,
} from './supervisor/index.ts'
