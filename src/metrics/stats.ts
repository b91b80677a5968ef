import { OTHER } from './bounded-labels.ts'
import { Hist } from './fast-families.ts'

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

export class ActionStats {
  readonly labels: Record<string, string>
  called = false
  hosted = false
  inFlight = 0
  handling = 0
  breakerRejections = 0
  bulkheadQueued = 0
  bulkheadRejected = 0
  readonly handled = new Map<string, number>()
  readonly retries = new Map<string, number>()
  readonly handleHist = new Hist(DURATION_BUCKETS)
  readonly callers = new Map<string, { codes: Map<string, number>; hist: Hist }>()

  constructor(
    readonly service: string,
    readonly action: string,
  ) {
    this.labels = { service, action }
  }

  caller(name: string): { codes: Map<string, number>; hist: Hist } {
    let c = this.callers.get(name)
    if (!c) {
      c = { codes: new Map(), hist: new Hist(DURATION_BUCKETS) }
      this.callers.set(name, c)
    }
    return c
  }
}

export class EventStats {
  readonly labels: Record<string, string>
  readonly emitted = new Map<string, number>()
  readonly handled = new Map<string, number>()
  readonly hist = new Hist(DURATION_BUCKETS)

  constructor(service: string, event: string) {
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
