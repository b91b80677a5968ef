/**
 * The runtime: runs a whole system (one process per instance), supervises it, and
 * exposes live operations through a token-protected control API. `tessera/runtime`.
 */
export {
  type AdapterContext,
  type AdapterDefinition,
  defineAdapter,
  isAdapter,
  type RunningAdapter,
} from './adapter.ts'
export * from './config/index.ts'
export * from './control/index.ts'
export * from './dev/index.ts'
export type { FromInstance, InstanceEnv, ToInstance } from './instance/protocol.ts'
export * from './supervisor/index.ts'
