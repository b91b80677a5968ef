import type { Instrumentation, TimedHop } from './instrumentation.ts'

type HookName = keyof Instrumentation
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
    const hooks = present.flatMap((p) => {
      const hook = p[name] as AnyHook | undefined
      return hook ? [hook.bind(p) as AnyHook] : []
    })
    if (hooks.length === 0) continue
    combined[name] = hooks.reduceRight((rest, hook) => both(hook, rest))
  }
  const result = combined as Instrumentation
  const asks = present.map((p) => p.timed?.bind(p))
  if (asks.every((ask) => ask !== undefined)) result.timed = anyOf(asks)
  return result
}

type Ask = NonNullable<Instrumentation['timed']>

/** True when any of `asks` is; each is asked (a part may count the hop as it answers). */
function anyOf(asks: Ask[]): Ask {
  if (asks.length === 2) {
    const [a, b] = asks as [Ask, Ask]
    return (hop, service, name, caller) => {
      const x = a(hop, service, name, caller)
      return b(hop, service, name, caller) || x
    }
  }
  return (hop: TimedHop, service, name, caller) => {
    let any = false
    for (const ask of asks) if (ask(hop, service, name, caller)) any = true
    return any
  }
}

/**
 * `first` then `second`, with the first defined result. Fixed parameters rather than a
 * rest array: these run several times per call, and no hook takes more than seven.
 */
function both(first: AnyHook, second: AnyHook): AnyHook {
  return (a, b, c, d, e, f, g) => {
    const r = first(a, b, c, d, e, f, g)
    const s = second(a, b, c, d, e, f, g)
    return r !== undefined ? r : s
  }
}
