/** Time source injected into everything that waits, so tests can use a fake clock. */
export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/**
 * Wall-clock milliseconds, read at most once per 64 reads within one burst of work
 * (like nginx's time cached per event-loop iteration). `Date.now()` costs ~50 ns here,
 * a sixth of a whole local call, and every call needs the time for its deadline.
 * The cached value expires on `process.nextTick`, which runs as soon as the current
 * callback and its promise chain have finished, so no value outlives the burst that
 * read it (an idle loop never sees old time). Within a burst it can lag by at most
 * that burst's length, which only makes a deadline computed in it slightly earlier.
 */
function cachedNow(): () => number {
  let value = 0
  let reads = 0
  let refreshScheduled = false
  const expire = () => {
    reads = 0
    refreshScheduled = false
  }
  return () => {
    if (reads > 0) {
      reads--
      return value
    }
    value = Date.now()
    reads = 63
    if (!refreshScheduled) {
      refreshScheduled = true
      process.nextTick(expire)
    }
    return value
  }
}

export const systemClock: Clock = {
  now: cachedNow(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}
