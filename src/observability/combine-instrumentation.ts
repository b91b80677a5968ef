import type { Instrumentation } from './instrumentation.ts'

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
  return combined as Instrumentation
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
