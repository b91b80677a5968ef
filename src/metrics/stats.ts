import { OTHER } from './bounded-labels.ts'
import { Hist } from './fast-families.ts'
import { TimingStride } from './timing-stride.ts'

/** Seconds; from a local call (~50 µs) to a slow outside API. */
export const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]

/**
 * Records by (service, name), two map lookups on the call path. Past `max` pairs a new
 * pair shares one `(other)` record, so callers naming what does not exist cannot grow
 * the series without end.
 */
export class Names<T> {
  readonly #byService = new Map<string, Map<string, T>>()
  readonly #all: T[] = []
  #other: T | undefined
  // The pair asked for last: a call's start and end hooks, and its callee's, ask for the same.
  #lastService: string | undefined
  #lastName: string | undefined
  #last: T | undefined

  constructor(
    readonly max: number,
    readonly make: (service: string, name: string) => T,
  ) {}

  of(service: string, name: string): T {
    if (service === this.#lastService && name === this.#lastName) return this.#last as T
    const found = this.#lookup(service, name)
    this.#lastService = service
    this.#lastName = name
    this.#last = found
    return found
  }

  #lookup(service: string, name: string): T {
    let names = this.#byService.get(service)
    const found = names?.get(name)
    if (found) return found
    if (this.#all.length >= this.max) {
      if (!this.#other) {
        this.#other = this.make(OTHER, OTHER)
        this.#all.push(this.#other)
      }
      return this.#other
    }
    const made = this.make(service, name)
    if (!names) {
      names = new Map()
      this.#byService.set(service, names)
    }
    names.set(name, made)
    this.#all.push(made)
    return made
  }

  all(): readonly T[] {
    return this.#all
  }
}

/**
 * Outcomes by code, the common one (`OK`) in a plain field: the call path bumps a number
 * instead of a map entry. `entries()` lists `OK` first, then the codes as first seen.
 */
export class Outcomes {
  ok = 0
  readonly #codes = new Map<string, number>()

  add(code: string): void {
    if (code === 'OK') this.ok++
    else this.#codes.set(code, (this.#codes.get(code) ?? 0) + 1)
  }

  entries(): [string, number][] {
    const out: [string, number][] = this.ok > 0 ? [['OK', this.ok]] : []
    for (const e of this.#codes) out.push(e)
    return out
  }
}

/** One latency series: its histogram and which of its hops are timed. */
export class Timed {
  readonly hist = new Hist(DURATION_BUCKETS)
  readonly stride = new TimingStride()

  /** `durationMs` is NaN for a hop that was not timed: it counts only through the weight of those that were. */
  observe(durationMs: number): void {
    if (!Number.isNaN(durationMs)) this.hist.observe(durationMs / 1000, this.stride.weight())
  }
}

/** The caller side of one action, per calling service. */
export class CallerStats extends Timed {
  readonly codes = new Outcomes()
}

export class ActionStats {
  readonly labels: Record<string, string>
  called = false
  hosted = false
  inFlight = 0
  handling = 0
  breakerRejections = 0
  bulkheadQueued = 0
  bulkheadRejected = 0
  readonly handled = new Outcomes()
  readonly retries = new Map<string, number>()
  readonly handle = new Timed()
  readonly callers = new Map<string, CallerStats>()
  // The caller asked for last: a call's `timed` and end hooks ask for the same one.
  #lastCaller: string | undefined
  #last: CallerStats | undefined

  constructor(
    readonly service: string,
    readonly action: string,
  ) {
    this.labels = { service, action }
  }

  caller(name: string): CallerStats {
    if (name === this.#lastCaller && this.#last !== undefined) return this.#last
    let c = this.callers.get(name)
    if (!c) {
      c = new CallerStats()
      this.callers.set(name, c)
    }
    this.#lastCaller = name
    this.#last = c
    return c
  }
}

export class EventStats extends Timed {
  readonly labels: Record<string, string>
  readonly emitted = new Map<string, number>()
  readonly handled = new Map<string, number>()

  constructor(service: string, event: string) {
    super()
    this.labels = { service, event }
  }
}

export class RouteStats {
  readonly labels: Record<string, string>
  readonly statuses = new Map<string, number>()
  readonly hist = new Hist(DURATION_BUCKETS)

  constructor(method: string, route: string) {
    this.labels = { method, route }
  }
}
