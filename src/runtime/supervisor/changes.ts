/**
 * Waiting for a condition over state that changes in many places: whoever changes it
 * calls `notify`, and every pending `until` re-checks. Nothing polls, nothing times out
 * here (a bound belongs in the check, or in what it waits for).
 */
export class Changes {
  readonly #waiters = new Set<() => void>()

  notify(): void {
    for (const w of [...this.#waiters]) w()
  }

  /** Re-evaluates `check` now and on every `notify` until it returns true (resolve) or throws (reject). */
  until(check: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const test = () => {
        try {
          if (!check()) return
          this.#waiters.delete(test)
          resolve()
        } catch (err) {
          this.#waiters.delete(test)
          reject(err)
        }
      }
      this.#waiters.add(test)
      test()
    })
  }
}
