import type { Clock } from '../../context/index.ts'
import { CrashHistory, type CrashVerdict, type RestartPolicy } from './crash-history.ts'

/**
 * The restart policy of one unit applied over time: each crash is judged by the unit's
 * `CrashHistory` (backoff or crash loop) and a restart is scheduled on the injected clock,
 * at most one per slot (`key`). A crash loop cancels every pending restart; so does
 * `cancelAll` (the unit stops). A cancelled restart never runs.
 */
export class CrashRestarts {
  readonly #history: CrashHistory
  readonly #timers = new Map<object, unknown>()
  readonly #clock: Clock

  constructor(policy: RestartPolicy, clock: Clock) {
    this.#history = new CrashHistory(policy)
    this.#clock = clock
  }

  /**
   * Records a crash in slot `key`. On `restart`, `run` is called after the verdict's delay
   * unless cancelled first (a restart already pending for the slot is replaced); on
   * `crash-loop`, nothing is scheduled and every pending restart is cancelled.
   */
  crashed(key: object, run: () => void): CrashVerdict {
    const verdict = this.#history.record(this.#clock.now())
    if (verdict.type === 'crash-loop') {
      this.cancelAll()
      return verdict
    }
    this.cancel(key)
    const handle = this.#clock.setTimeout(() => {
      this.#timers.delete(key)
      run()
    }, verdict.delayMs)
    this.#timers.set(key, handle)
    return verdict
  }

  /** True while a restart of slot `key` waits for its delay. */
  pending(key: object): boolean {
    return this.#timers.has(key)
  }

  cancel(key: object): void {
    if (!this.#timers.has(key)) return
    this.#clock.clearTimeout(this.#timers.get(key))
    this.#timers.delete(key)
  }

  cancelAll(): void {
    for (const handle of this.#timers.values()) this.#clock.clearTimeout(handle)
    this.#timers.clear()
  }

  /** Forgets past crashes (an operator's restart or deploy clears a crash loop). */
  forget(): void {
    this.#history.reset()
  }
}
