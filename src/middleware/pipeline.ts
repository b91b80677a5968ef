import type { Middleware, Next } from './types.ts'

/**
 * Composes middleware around a terminal step, outermost first. Built once per
 * broker, not per call: a call costs one closure invocation per middleware.
 */
export function pipeline(middlewares: readonly Middleware[], terminal: Next): Next {
  let next = terminal
  for (let i = middlewares.length - 1; i >= 0; i--) {
    const mw = middlewares[i]!
    const inner = next
    next = (call) => mw(call, inner)
  }
  return next
}
