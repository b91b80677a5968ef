/** The two knobs of exponential backoff, in ms (a `RetryPolicy` fits). */
export interface BackoffOptions {
  baseDelay: number
  maxDelay: number
}

/**
 * The wait before retry number `attempt` (1 = the first retry): exponential backoff
 * with full jitter, a uniformly random delay in `[0, min(maxDelay, baseDelay * 2^(attempt-1)))`,
 * rounded down to whole ms. Full jitter spreads the retries of many callers that
 * failed at once, instead of sending them back together.
 *
 * Edges: `attempt` below 1 counts as 1; negative or non-finite delays count as 0
 * (no wait); a huge `attempt` cannot overflow (the exponent is capped, so the ceiling
 * is `maxDelay`); a `random` outside `[0, 1)` (or NaN) is clamped into it, so the result always stays in range.
 *
 * @example
 * backoffDelay(3, { baseDelay: 25, maxDelay: 1_000 }) // somewhere in 0..99
 * backoffDelay(1, { baseDelay: 25, maxDelay: 1_000 }, () => 0.5) // 12
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const base = finiteNonNegative(options.baseDelay)
  const max = finiteNonNegative(options.maxDelay)
  const exponent = Math.min(Math.max(0, Math.floor(attempt) - 1 || 0), 52)
  const ceiling = Math.min(max, base * 2 ** exponent)
  const r = random()
  const unit = r > 0 ? Math.min(r, 1 - Number.EPSILON) : 0
  return Math.floor(unit * ceiling)
}

function finiteNonNegative(value: number): number {
  return Number.isFinite(value) ? Math.max(0, value) : 0
}
