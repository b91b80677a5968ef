/**
 * Tessera's main entry: what a service author needs. Transports, the test kit and
 * the middleware building blocks have their own subpaths (`tessera/transport/socket`,
 * `tessera/testkit`, `tessera/middleware`).
 */
export { type Broker, type BrokerOptions, createBroker } from './broker/index.ts'
export type { Principal, TraceContext } from './context/index.ts'
export {
  type AnyService,
  type CallOptions,
  type Context,
  defineService,
  type EventPayload,
  type InputOf,
  type OutputOf,
  type PolicyOverrides,
  type ServiceClient,
  type ServiceDefinition,
  subscribe,
} from './contract/index.ts'
export { type ErrorCode, ErrorCodes, isTesseraError, TesseraError } from './errors/index.ts'
export { type Logger, silentLogger } from './observability/index.ts'
