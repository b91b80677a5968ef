/** setTimeout's longest delay (~24.8 days); a longer one fires at once. */
const MAX_DELAY = 2 ** 31 - 1

/**
 * Runs `fn` at the wall-clock time `at` (ms since epoch), however far away: long waits are
 * re-armed in steps. The timer never keeps the process alive; `clear()` cancels it.
 *
 * @example
 * const timer = laterTimer(claims.exp * 1000, () => end('expired'))
 * timer.clear()
 */
export function laterTimer(at: number, fn: () => void, now: () => number = Date.now): { clear(): void } {
  let timer: NodeJS.Timeout | undefined
  const arm = () => {
    const wait = at - now()
    if (wait <= 0) {
      fn()
      return
    }
    timer = setTimeout(arm, Math.min(wait, MAX_DELAY))
    timer.unref()
  }
  // Not synchronously: the caller finishes setting up first, even for a time already past.
  timer = setTimeout(arm, 0)
  timer.unref()
  return { clear: () => clearTimeout(timer) }
}
