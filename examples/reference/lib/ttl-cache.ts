/** A cached value and how old it is. */
export interface CacheHit<V> {
  value: V
  ageMs: number
}

export interface TtlCacheOptions {
  /** Entries younger than this are fresh. */
  ttlMs: number
  /** Entries older than this are dropped, even as a stale fallback. */
  maxStaleMs: number
  /** Bound on entries; the oldest-written goes first. */
  maxEntries: number
  now?: () => number
}

/**
 * An in-memory cache with a freshness window and a longer stale window: `fresh` answers
 * only within `ttlMs`, `stale` within `maxStaleMs` (for serving when the source is down).
 * Per process by design: each instance warms its own.
 *
 * @example
 * const cache = new TtlCache<Rate>({ ttlMs: 30_000, maxStaleMs: 3_600_000, maxEntries: 500 })
 * cache.fresh('EUR') ?? cache.set('EUR', await fetchRate('EUR'))
 */
export class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; storedAt: number }>()
  readonly #options: TtlCacheOptions
  readonly #now: () => number

  constructor(options: TtlCacheOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  fresh(key: string): CacheHit<V> | undefined {
    const hit = this.stale(key)
    return hit && hit.ageMs < this.#options.ttlMs ? hit : undefined
  }

  stale(key: string): CacheHit<V> | undefined {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    const ageMs = this.#now() - entry.storedAt
    if (ageMs >= this.#options.maxStaleMs) {
      this.#entries.delete(key)
      return undefined
    }
    return { value: entry.value, ageMs }
  }

  set(key: string, value: V): V {
    // Re-inserting moves the key to the end, so iteration order is write order.
    this.#entries.delete(key)
    this.#entries.set(key, { value, storedAt: this.#now() })
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#options.maxEntries) break
      this.#entries.delete(oldest)
    }
    return value
  }

  clear(): void {
    this.#entries.clear()
  }
}
