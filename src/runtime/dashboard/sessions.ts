import { randomBytes, timingSafeEqual } from 'node:crypto'

export interface Session {
  readonly id: string
  /** Sent back by the page in `x-csrf-token` on every POST; never in a cookie. */
  readonly csrf: string
  readonly createdAt: number
  lastSeen: number
}

export interface SessionOptions {
  /** A session unused this long ends. Default 2 h. */
  idleMs?: number
  /** A session ends this long after login whatever its use. Default 12 h. */
  maxAgeMs?: number
  /** Sessions kept at most; a login past it ends the oldest. Default 64. */
  max?: number
  now?: () => number
}

/**
 * Dashboard sessions, in memory only: they end with the control server (whose token
 * changes with every `up` anyway). Ids and CSRF tokens are 32 random bytes each.
 */
export class Sessions {
  readonly #byId = new Map<string, Session>()
  readonly #idleMs: number
  readonly #maxAgeMs: number
  readonly #max: number
  readonly #now: () => number

  constructor(options: SessionOptions = {}) {
    this.#idleMs = options.idleMs ?? 2 * 3600_000
    this.#maxAgeMs = options.maxAgeMs ?? 12 * 3600_000
    this.#max = options.max ?? 64
    this.#now = options.now ?? Date.now
  }

  create(): Session {
    const now = this.#now()
    this.#sweep(now)
    // Map order is insertion order: the first key is the oldest login.
    while (this.#byId.size >= this.#max) this.#byId.delete(this.#byId.keys().next().value!)
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastSeen: now,
    }
    this.#byId.set(session.id, session)
    return session
  }

  /** The live session of `id` (and marks it used), or undefined when unknown or expired. */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined
    const session = this.#byId.get(id)
    if (!session) return undefined
    const now = this.#now()
    if (now - session.lastSeen > this.#idleMs || now - session.createdAt > this.#maxAgeMs) {
      this.#byId.delete(id)
      return undefined
    }
    session.lastSeen = now
    return session
  }

  delete(id: string | undefined): void {
    if (id) this.#byId.delete(id)
  }

  /** Seconds until `session` ends at the latest (for the cookie's Max-Age). */
  maxAgeSeconds(session: Session): number {
    return Math.max(0, Math.floor((session.createdAt + this.#maxAgeMs - this.#now()) / 1000))
  }

  get size(): number {
    return this.#byId.size
  }

  #sweep(now: number): void {
    for (const [id, s] of this.#byId) {
      if (now - s.lastSeen > this.#idleMs || now - s.createdAt > this.#maxAgeMs) this.#byId.delete(id)
    }
  }
}

/** Compares two secrets in time independent of where they differ (lengths may leak; they are fixed here). */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
