import type { Instrumentation, TimedHop } from './instrumentation.ts'

type HookName = Exclude<keyof Instrumentation, 'timed'>
type AnyHook = (...args: unknown[]) => unknown

const HOOKS: readonly HookName[] = [
  'callStarted',
  'callEnded',
  'callRetried',
  'breakerRejected',
  'breakerChanged',
  'handleStarted',
  'handleEnded',
  'bulkheadQueued',
  'bulkheadRejected',
  'emitStarted',
  'emitEnded',
  'eventStarted',
  'eventEnded',
  'requestStarted',
  'requestEnded',
  'spanStarted',
  'spanEnded',
]

/**
 * One instrumentation that calls each given one, in order. Undefined entries are
 * skipped; with none left the result is undefined (so the broker stays on its
 * uninstrumented path), with one it is that one. A hook is defined on the result only
 * if some part defines it, so the broker's "is there a hook" checks stay exact. For
 * the hooks that may return a span, the first part that returns one wins (one tracer).
 * `timed` is the exception: a part without it wants every hop timed, so the result has
 * it only if every part has it, and times a hop when any part asks.
 *
 * @example
 * createBroker({ instrumentation: combineInstrumentation(tracer, metrics) })
 */
export function combineInstrumentation(
  ...parts: (Instrumentation | undefined)[]
): Instrumentation | undefined {
  const present = parts.filter((p): p is Instrumentation => p !== undefined)
  if (present.length === 0) return undefined
  if (present.length === 1) return present[0]
  const combined: Record<string, AnyHook> = {}
  for (const name of HOOKS) {
    const owners = present.filter((p) => p[name] !== undefined)
    if (owners.length === 0) continue
    combined[name] =
      owners.length === 2
        ? (PAIRS[name] as unknown as (p: Instrumentation, q: Instrumentation) => AnyHook)(
            owners[0] as Instrumentation,
            owners[1] as Instrumentation,
          )
        : chain(owners, name)
  }
  const result = combined as Instrumentation
  // A part that never times (a tracer: spans time themselves) has no say.
  const asking = present.filter((p) => p.timed !== neverTimed)
  if (asking.length === 0) result.timed = neverTimed
  else if (asking.every((p) => p.timed !== undefined)) result.timed = anyOf(asking)
  return result
}

/**
 * A `timed` that never asks for the clock, for an instrumentation that times its hops
 * itself: `combineInstrumentation` leaves it out of the combined `timed` instead of
 * asking it on every hop.
 */
export function neverTimed(): boolean {
  return false
}

type Ask = NonNullable<Instrumentation['timed']>

/** True when any part's `timed` is; each is asked (a part may count the hop as it answers). */
function anyOf(parts: Instrumentation[]): Ask {
  if (parts.length === 1) {
    const [p] = parts as [Instrumentation]
    return (hop, service, name, caller) => p.timed!(hop, service, name, caller)
  }
  if (parts.length === 2) {
    const [p, q] = parts as [Instrumentation, Instrumentation]
    return (hop, service, name, caller) => {
      const x = p.timed!(hop, service, name, caller)
      return q.timed!(hop, service, name, caller) || x
    }
  }
  return (hop: TimedHop, service, name, caller) => {
    let any = false
    for (const p of parts) if (p.timed!(hop, service, name, caller)) any = true
    return any
  }
}

/**
 * Two parts (a tracer and metrics, as the runtime runs them), one wrapper per hook: each
 * has call sites of its own that see one part each, so the engine inlines them (one
 * shared wrapper for every hook would see every hook of both parts and inline none).
 * Only made for a hook both parts define.
 */
const PAIRS: {
  [K in HookName]-?: (p: Instrumentation, q: Instrumentation) => NonNullable<Instrumentation[K]>
} = {
  callStarted: (p, q) => (service, action, caller, parent) => {
    const r = p.callStarted!(service, action, caller, parent)
    const s = q.callStarted!(service, action, caller, parent)
    return r !== undefined ? r : s
  },
  callEnded: (p, q) => (service, action, caller, span, outcome, durationMs) => {
    p.callEnded!(service, action, caller, span, outcome, durationMs)
    q.callEnded!(service, action, caller, span, outcome, durationMs)
  },
  callRetried: (p, q) => (service, action, span, attempt, code, delayMs) => {
    p.callRetried!(service, action, span, attempt, code, delayMs)
    q.callRetried!(service, action, span, attempt, code, delayMs)
  },
  breakerRejected: (p, q) => (service, action, nodeId, span) => {
    p.breakerRejected!(service, action, nodeId, span)
    q.breakerRejected!(service, action, nodeId, span)
  },
  breakerChanged: (p, q) => (service, nodeId, state) => {
    p.breakerChanged!(service, nodeId, state)
    q.breakerChanged!(service, nodeId, state)
  },
  handleStarted: (p, q) => (service, action, caller, parent, inFlight) => {
    const r = p.handleStarted!(service, action, caller, parent, inFlight)
    const s = q.handleStarted!(service, action, caller, parent, inFlight)
    return r !== undefined ? r : s
  },
  handleEnded: (p, q) => (service, action, caller, span, outcome, durationMs, inFlight) => {
    p.handleEnded!(service, action, caller, span, outcome, durationMs, inFlight)
    q.handleEnded!(service, action, caller, span, outcome, durationMs, inFlight)
  },
  bulkheadQueued: (p, q) => (service, action, queued) => {
    p.bulkheadQueued!(service, action, queued)
    q.bulkheadQueued!(service, action, queued)
  },
  bulkheadRejected: (p, q) => (service, action) => {
    p.bulkheadRejected!(service, action)
    q.bulkheadRejected!(service, action)
  },
  emitStarted: (p, q) => (service, event, parent) => {
    const r = p.emitStarted!(service, event, parent)
    const s = q.emitStarted!(service, event, parent)
    return r !== undefined ? r : s
  },
  emitEnded: (p, q) => (service, event, span, outcome, targets) => {
    p.emitEnded!(service, event, span, outcome, targets)
    q.emitEnded!(service, event, span, outcome, targets)
  },
  eventStarted: (p, q) => (service, event, parent) => {
    const r = p.eventStarted!(service, event, parent)
    const s = q.eventStarted!(service, event, parent)
    return r !== undefined ? r : s
  },
  eventEnded: (p, q) => (service, event, span, outcome, durationMs) => {
    p.eventEnded!(service, event, span, outcome, durationMs)
    q.eventEnded!(service, event, span, outcome, durationMs)
  },
  requestStarted: (p, q) => (method, route, parent, requestId) => {
    const r = p.requestStarted!(method, route, parent, requestId)
    const s = q.requestStarted!(method, route, parent, requestId)
    return r !== undefined ? r : s
  },
  requestEnded: (p, q) => (method, route, span, status, durationMs) => {
    p.requestEnded!(method, route, span, status, durationMs)
    q.requestEnded!(method, route, span, status, durationMs)
  },
  spanStarted: (p, q) => (service, name, parent, attributes) => {
    const r = p.spanStarted!(service, name, parent, attributes)
    const s = q.spanStarted!(service, name, parent, attributes)
    return r !== undefined ? r : s
  },
  spanEnded: (p, q) => (service, name, span, outcome, durationMs) => {
    p.spanEnded!(service, name, span, outcome, durationMs)
    q.spanEnded!(service, name, span, outcome, durationMs)
  },
}

/** The hook `name` of every part in `owners` (one, or three and more), in order, with the first defined result. */
function chain(owners: Instrumentation[], name: HookName): AnyHook {
  if (owners.length === 1) {
    const p = owners[0] as Instrumentation
    return (p[name] as AnyHook).bind(p)
  }
  const hooks = owners.map((p) => (p[name] as AnyHook).bind(p))
  // Fixed parameters rather than a rest array: no hook takes more than seven.
  return (a, b, c, d, e, f, g) => {
    let r: unknown
    for (const hook of hooks) {
      const s = hook(a, b, c, d, e, f, g)
      if (r === undefined) r = s
    }
    return r
  }
}
