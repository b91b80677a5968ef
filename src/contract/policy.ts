/**
 * Resilience settings of one action, as declared by the service that owns it and
 * announced to every caller through the registry (callers never load the callee's code,
 * so the callee's policy must travel as data). Callers may tighten `timeout` per call.
 */
export interface RetryPolicy {
  /** Total attempts including the first; 1 disables retries. */
  attempts: number
  /** First backoff in ms; each next one doubles, with full jitter, capped by maxDelay. */
  baseDelay: number
  maxDelay: number
}

export interface BreakerPolicy {
  /** Failure ratio in the window that opens the circuit (0..1]. */
  failureRatio: number
  /** Calls needed in the window before the ratio is judged. */
  minCalls: number
  windowMs: number
  /** How long the circuit stays open before one trial call is let through. */
  openMs: number
}

export interface BulkheadPolicy {
  maxConcurrent: number
  /** Calls waiting beyond maxConcurrent; past this the callee answers OVERLOADED. */
  maxQueue: number
}

export interface ActionPolicy {
  /** Default deadline in ms for a call to this action when the caller sets none. */
  timeout: number
  retry: RetryPolicy
  breaker: BreakerPolicy | false
  bulkhead: BulkheadPolicy | false
}

export type PolicyOverrides = {
  timeout?: number
  retry?: Partial<RetryPolicy>
  breaker?: Partial<BreakerPolicy> | false
  bulkhead?: Partial<BulkheadPolicy> | false
}

export const defaultPolicy: ActionPolicy = {
  timeout: 10_000,
  retry: { attempts: 3, baseDelay: 25, maxDelay: 1_000 },
  breaker: { failureRatio: 0.5, minCalls: 20, windowMs: 10_000, openMs: 5_000 },
  bulkhead: { maxConcurrent: 256, maxQueue: 4_096 },
}

/** Later layers win; `false` switches a part off, a partial object refines it. */
export function resolvePolicy(...layers: (PolicyOverrides | undefined)[]): ActionPolicy {
  let policy: ActionPolicy = defaultPolicy
  for (const layer of layers) {
    if (!layer) continue
    policy = {
      timeout: layer.timeout ?? policy.timeout,
      retry: layer.retry ? { ...policy.retry, ...layer.retry } : policy.retry,
      breaker: mergePart(policy.breaker, layer.breaker, defaultPolicy.breaker as BreakerPolicy),
      bulkhead: mergePart(policy.bulkhead, layer.bulkhead, defaultPolicy.bulkhead as BulkheadPolicy),
    }
  }
  return policy
}

function mergePart<P extends object>(
  current: P | false,
  layer: Partial<P> | false | undefined,
  base: P,
): P | false {
  if (layer === undefined) return current
  if (layer === false) return false
  return { ...(current === false ? base : current), ...layer }
}
