export { type BackoffOptions, backoffDelay } from './backoff.ts'
export { type Bulkhead, createBulkhead } from './bulkhead.ts'
export {
  type BreakerChange,
  type BreakerRegistry,
  type BreakerRegistryOptions,
  type BreakerStateName,
  BreakerStates,
  createBreakerRegistry,
} from './circuit-breaker.ts'
export { fallback } from './fallback.ts'
export { pipeline } from './pipeline.ts'
export { type RetryOptions, retry } from './retry.ts'
export { createRetryBudget, type RetryBudget, type RetryBudgetOptions } from './retry-budget.ts'
export type { Call, Endpoint, Middleware, Next } from './types.ts'
