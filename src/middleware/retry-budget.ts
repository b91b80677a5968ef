import type { Clock } from '../context/index.ts'

export interface RetryBudgetOptions {
  /** Retries earned per first attempt: 0.2 lets retries add at most ~20% load. */
  ratio?: number
  /** Retries per second allowed whatever the traffic, so a quiet caller can still retry. */
  minPerSecond?: number
  /**
   * How long earned retries are remembered: the earned balance decays exponentially
   * with this time constant, so a long quiet spell cannot bank a retry storm.
   */
  decayMs?: number
  clock: Pick<Clock, 'now'>
}

/** Caps retries to a fraction of traffic; shared by every call of one caller. */
export interface RetryBudget {
  /** Records one first attempt (deposits `ratio`). */
  recordRequest(): void
  /** Withdraws one retry if the budget allows it; false means "do not retry". */
  tryRetry(): boolean
}

/**
 * A retry budget: each first attempt deposits `ratio` tokens, each granted retry
 * withdraws one. Beside the earned balance, a reserve refilled at `minPerSecond`
 * tokens per second (holding at most one second's worth, full at start) is spent
 * when the earned balance is short. Over any stretch of time, granted retries stay
 * below `ratio * requests + minPerSecond * (elapsedSeconds + 1)`.
 *
 * Memory is three numbers, whatever the traffic. A clock that
 * steps backwards is treated as standing still.
 *
 * @example
 * const budget = createRetryBudget({ clock: systemClock })
 * budget.recordRequest()
 * if (budget.tryRetry()) { ... }
 */
export function createRetryBudget(options: RetryBudgetOptions): RetryBudget {
  const { ratio = 0.2, minPerSecond = 10, decayMs = 10_000, clock } = options
  if (!(ratio >= 0) || !(minPerSecond >= 0) || !(decayMs > 0)) {
    throw new RangeError('retry budget: ratio and minPerSecond must be >= 0, decayMs > 0')
  }
  const reserveCap = minPerSecond
  let earned = 0
  let reserve = reserveCap
  let last = clock.now()

  const catchUp = (): void => {
    const now = clock.now()
    const dt = now - last
    if (!(dt > 0)) return
    last = now
    if (earned > 0) earned *= Math.exp(-dt / decayMs)
    reserve = Math.min(reserveCap, reserve + (minPerSecond * dt) / 1000)
  }

  return {
    recordRequest() {
      catchUp()
      earned += ratio
    },
    tryRetry() {
      catchUp()
      // The epsilon absorbs float drift: five deposits of 0.2 must buy one retry.
      if (earned >= 1 - 1e-9) {
        earned = Math.max(0, earned - 1)
        return true
      }
      if (reserve >= 1 - 1e-9) {
        reserve = Math.max(0, reserve - 1)
        return true
      }
      return false
    },
  }
}
