// TypeBox's builder, so a service needs no import of its own to write schemas.
export { type Static, type TSchema, Type } from '@sinclair/typebox'
export type { CallOptions, Context, EmitOptions, EventSchemas, WorkSpan } from './context.ts'
export {
  type ContractChange,
  type ContractDiff,
  type ContractUse,
  contractOf,
  diffContracts,
  formatContractDiff,
  type ServiceContract,
} from './contract-diff.ts'
export { type DurableOptions, durable, isDurable, type ResolvedDurable, resolveDurable } from './durable.ts'
export {
  type ActionPolicy,
  type BreakerPolicy,
  type BulkheadPolicy,
  defaultPolicy,
  type PolicyOverrides,
  type RetryPolicy,
  resolvePolicy,
} from './policy.ts'
export { ROUTE_RATE_LIMIT_BOUNDS, type RouteRateLimit, rateLimitProblem } from './route-rate-limit.ts'
export { type CoverageProblem, schemaCoverage } from './schema-coverage.ts'
export {
  type ActionDefinition,
  type ActionMap,
  type ActionSpec,
  type AnyService,
  defineService,
  type EventHandler,
  type EventMode,
  type EventPayload,
  type HttpMethod,
  type HttpRoute,
  type InputOf,
  type OutputOf,
  type ServiceClient,
  type ServiceDefinition,
  type ServiceKit,
  type ServiceSpec,
  type Subscription,
  type SubscriptionSpec,
  subscribe,
} from './service.ts'
export { compileValidator, type FieldError, type Validator } from './validator.ts'
