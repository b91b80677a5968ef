export { type AutoscaleConfig, type AutoscaleSpec, autoscaleDefaults } from './autoscale-config.ts'
export { createTransport } from './create-transport.ts'
export { type ConfigIssue, configError, defineSystem, validateSystem } from './define-system.ts'
export { loadSystem } from './load-system.ts'
export {
  CLIENT_UNIT,
  loadNatsLogins,
  NATS_LOGINS_FILE,
  type NatsLogins,
  SUPERVISOR_UNIT,
} from './nats-logins.ts'
export { HostName, PlacementConfig } from './placement-config.ts'
export type { GroupConfig, ServiceConfig, SystemConfig, TransportConfig } from './schema.ts'
export { stateKeyOf, systemStateDir } from './state-dir.ts'
export {
  defaultTransportKinds,
  type InstanceTransportModule,
  type TransportFactory,
  type TransportKind,
  type TransportKinds,
  transportKindOf,
} from './transport-kinds.ts'
export { planUnits, type ResolvedTransport, resolveTransport, startOrder, type UnitSpec } from './units.ts'
