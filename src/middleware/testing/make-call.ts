import { type ActionPolicy, defaultPolicy } from '../../contract/index.ts'
import type { Call } from '../types.ts'

/** Policy knobs a test may override; the rest comes from `defaultPolicy`. */
export interface TestCallOverrides extends Partial<Omit<Call, 'policy'>> {
  policy?: Partial<ActionPolicy>
}

/**
 * A complete first-attempt Call for unit tests: idempotent, deadline far away, no
 * signal, no endpoint. Anything can be overridden.
 *
 * @example
 * const call = makeCall({ idempotent: false, policy: { retry: { attempts: 2, baseDelay: 10, maxDelay: 100 } } })
 */
export function makeCall(overrides: TestCallOverrides = {}): Call {
  const { policy, ...rest } = overrides
  return {
    service: 'users',
    action: 'get',
    input: { id: 1 },
    requestId: 'req-1',
    trace: { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), flags: 1 },
    caller: undefined,
    principal: undefined,
    meta: undefined,
    deadline: Number.POSITIVE_INFINITY,
    signal: undefined,
    idempotent: true,
    attempt: 1,
    tried: [],
    fallback: undefined,
    ...rest,
    policy: { ...defaultPolicy, ...policy },
  }
}
