export interface LoginLimiterOptions {
  /** Wrong logins allowed within `windowMs` before further attempts are refused. Default 5. */
  attempts?: number
  /** Default 60 s. */
  windowMs?: number
  now?: () => number
}

/**
 * Counts wrong dashboard logins over one sliding window for the whole server: every
 * client is 127.0.0.1, so a per-address limit would mean nothing. While the limit is
 * reached every attempt, the right token included, is refused with the time to wait;
 * the CLI (bearer token) is never limited. The token has 256 bits, so this is defence in
 * depth against a local process guessing, not what keeps it secret.
 */
export class LoginLimiter {
  readonly #failures: number[] = []
  readonly #attempts: number
  readonly #windowMs: number
  readonly #now: () => number

  constructor(options: LoginLimiterOptions = {}) {
    this.#attempts = options.attempts ?? 5
    this.#windowMs = options.windowMs ?? 60_000
    this.#now = options.now ?? Date.now
  }

  /** 0 when an attempt may be checked now, else the milliseconds until one may. */
  retryAfterMs(): number {
    const now = this.#now()
    while (this.#failures.length > 0 && now - this.#failures[0]! >= this.#windowMs) this.#failures.shift()
    if (this.#failures.length < this.#attempts) return 0
    return this.#failures[0]! + this.#windowMs - now
  }

  failed(): void {
    this.#failures.push(this.#now())
  }
}
