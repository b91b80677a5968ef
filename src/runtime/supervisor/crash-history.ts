/** Restart timing and crash-loop threshold. */
export interface RestartPolicy {
  /**
   * Delay after the first crash within the window; the backoff (`baseDelayMs`,
   * doubling) starts from the second. Unset: the first crash waits `baseDelayMs` too.
   */
  firstDelayMs?: number
  baseDelayMs: number
  maxDelayMs: number
  crashLoopCrashes: number
  crashLoopWindowMs: number
}

export const defaultRestartPolicy: RestartPolicy = {
  firstDelayMs: 0,
  baseDelayMs: 100,
  maxDelayMs: 10_000,
  crashLoopCrashes: 5,
  crashLoopWindowMs: 30_000,
}

export type CrashVerdict =
  | { type: 'restart'; delayMs: number; recentCrashes: number }
  | { type: 'crash-loop'; recentCrashes: number }

/**
 * The crashes of one unit within a sliding window. A lone crash restarts after
 * `firstDelayMs` (default at once: a SIGKILL or OOM kill is no reason to wait); each
 * further one doubles the delay (base, 2×base, 4×base… capped); `crashLoopCrashes` within the window
 * is a crash loop. Crashes older than the window are forgotten, so a unit that stays up
 * for a window is back to the base delay.
 */
export class CrashHistory {
  #times: number[] = []
  constructor(private readonly policy: RestartPolicy) {}

  record(now: number): CrashVerdict {
    this.#times = this.#times.filter((t) => now - t < this.policy.crashLoopWindowMs)
    this.#times.push(now)
    const recentCrashes = this.#times.length
    if (recentCrashes >= this.policy.crashLoopCrashes) return { type: 'crash-loop', recentCrashes }
    const { firstDelayMs, baseDelayMs, maxDelayMs } = this.policy
    const delayMs =
      firstDelayMs === undefined
        ? Math.min(maxDelayMs, baseDelayMs * 2 ** (recentCrashes - 1))
        : recentCrashes === 1
          ? firstDelayMs
          : Math.min(maxDelayMs, baseDelayMs * 2 ** (recentCrashes - 2))
    return { type: 'restart', delayMs, recentCrashes }
  }

  reset(): void {
    this.#times = []
  }
}
