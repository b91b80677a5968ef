import type { Clock } from '../context/index.ts'
import { TesseraError } from '../errors/index.ts'
import { backoffDelay } from './backoff.ts'
import type { RetryBudget } from './retry-budget.ts'
import type { Call, Middleware, Next } from './types.ts'

export interface RetryOptions {
  /** Shared by all calls of this caller; caps retries to a fraction of traffic. */
  budget: RetryBudget
  /** Backoff waits and deadline checks use it (inject a fake in tests). */
  clock: Clock
  /** Jitter source in [0, 1). */
  random?: () => number
  /** Told before each backoff wait: the attempt that failed, its error, the wait (for traces and metrics; must not throw). */
  onRetry?: (call: Call, err: TesseraError, delayMs: number) => void
}

/**
 * Retries a failed call on a new attempt, `next({ ...call, attempt: call.attempt + 1 })`
 * (the `tried` list is shared, so the balancing step after this can avoid nodes that
 * already failed). A retry happens only when all of these hold:
 * - the call is idempotent, or the error says it was never delivered (`data.delivered === false`:
 *   no instance was known, or the transport could not send), so no handler can have run it;
 * - the error is a TesseraError whose code is `retryable` (UNAVAILABLE, CIRCUIT_OPEN, OVERLOADED);
 * - `attempt < policy.retry.attempts`;
 * - the backoff delay ends strictly before `call.deadline`;
 * - the budget grants it (checked last, so a retry that would not happen costs no token).
 *
 * Otherwise the last error is rethrown unchanged. The backoff wait uses the injected
 * clock; if `call.signal` aborts during it (or had aborted), the timer is cleared and
 * the call rejects at once with the last error. First attempts are recorded in the budget.
 *
 * @example
 * const send = pipeline([retry({ budget: createRetryBudget({ clock }), clock }), balance, breaker], transport)
 */
export function retry(options: RetryOptions): Middleware {
  const { budget, clock, random = Math.random, onRetry } = options
  return (call, next) => {
    if (call.attempt === 1) budget.recordRequest()
    if (call.policy.retry.attempts <= call.attempt) return next(call)
    // The first attempt is not awaited in an async function: nearly every call succeeds
    // on it, and a `catch` costs less than an async function's promise and resume.
    let sent: Promise<unknown>
    try {
      sent = next(call)
    } catch (err) {
      return afterFailure(call, err, next)
    }
    return sent.catch((err: unknown) => afterFailure(call, err, next))
  }

  /** `failed` (an attempt of `call`) failed with `err`: retried while the rules allow, else rethrown. */
  async function afterFailure(failed: Call, err: unknown, next: Next): Promise<unknown> {
    let current = failed
    let last = err
    for (;;) {
      const delay = retryDelay(current, last, clock, random)
      if (delay === undefined || !budget.tryRetry()) throw last
      onRetry?.(current, last as TesseraError, delay)
      if (!(await sleep(clock, delay, failed.signal))) throw last
      current = { ...current, attempt: current.attempt + 1 }
      try {
        return await next(current)
      } catch (again) {
        last = again
      }
    }
  }
}

/** The backoff before the next attempt, or undefined when this error must not be retried. */
function retryDelay(call: Call, err: unknown, clock: Clock, random: () => number): number | undefined {
  if (!(err instanceof TesseraError) || !err.retryable) return undefined
  // Any call may be retried when it provably never reached a handler; others only if idempotent.
  if (!call.idempotent && err.data?.delivered !== false) return undefined
  if (call.attempt >= call.policy.retry.attempts) return undefined
  if (call.signal?.aborted) return undefined
  const delay = backoffDelay(call.attempt, call.policy.retry, random)
  return clock.now() + delay < call.deadline ? delay : undefined
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (clearing the timer). */
function sleep(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false)
  if (ms <= 0) return Promise.resolve(true)
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clock.clearTimeout(handle)
      resolve(false)
    }
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
