import { TesseraError } from 'tessera/errors'

export type CircuitState = 'closed' | 'open' | 'half-open'

export interface CircuitBreakerOptions {
  /** Name used in the CIRCUIT_OPEN error, e.g. the outside API's host. */
  name: string
  /** Consecutive failures that open the circuit. */
  failureThreshold: number
  /** How long the circuit stays open before one trial call is let through. */
  openMs: number
  /** Injected for tests; `Date.now` by default. */
  now?: () => number
}

export interface CircuitBreaker {
  /**
   * Runs `fn` unless the circuit is open (then rejects CIRCUIT_OPEN without calling it).
   * A rejection counts as a failure when `isFailure(err)` says so (default: always), so a
   * call the caller itself cancelled need not count against the outside API.
   */
  run<T>(fn: () => Promise<T>, isFailure?: (err: unknown) => boolean): Promise<T>
  state(): CircuitState
}

/**
 * A circuit breaker around one outside dependency (not a Tessera endpoint: the broker's
 * breaker registry guards calls between services, keyed by node, and works on `Call`s).
 * Closed → open after `failureThreshold` consecutive failures; open → half-open after
 * `openMs`; half-open lets exactly one trial through, which closes it or opens it again.
 *
 * @example
 * const breaker = createCircuitBreaker({ name: 'rates-api', failureThreshold: 5, openMs: 10_000 })
 * const rate = await breaker.run(() => fetchRate('EUR'))
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const now = options.now ?? Date.now
  let failures = 0
  let openUntil = 0
  let state: CircuitState = 'closed'
  let trialInFlight = false

  const current = (): CircuitState => {
    if (state === 'open' && now() >= openUntil) {
      state = 'half-open'
      trialInFlight = false
    }
    return state
  }
  const open = () => {
    state = 'open'
    openUntil = now() + options.openMs
  }

  return {
    state: current,
    async run(fn, isFailure = () => true) {
      const s = current()
      if (s === 'open' || (s === 'half-open' && trialInFlight)) {
        throw new TesseraError('CIRCUIT_OPEN', `circuit open for ${options.name}`, {
          dependency: options.name,
        })
      }
      const trial = s === 'half-open'
      if (trial) trialInFlight = true
      try {
        const result = await fn()
        failures = 0
        state = 'closed'
        return result
      } catch (err) {
        if (!isFailure(err)) {
          if (trial) trialInFlight = false
        } else if (trial || ++failures >= options.failureThreshold) {
          failures = 0
          open()
        }
        throw err
      } finally {
        if (trial) trialInFlight = false
      }
    },
  }
}
