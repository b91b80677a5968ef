import { normalizeError } from '../errors/index.ts'
import type { Call, Middleware, Next } from './types.ts'

/**
 * Answers with `call.fallback(error)` when the rest of the pipeline rejects, so the
 * caller gets a degraded answer instead of an error. The fallback receives the error
 * normalised to a TesseraError; whatever it returns (or resolves to) becomes the
 * result. If the fallback throws or rejects, that error surfaces, normalised (an
 * unknown throw becomes INTERNAL). Calls without a fallback pass straight through
 * at no cost. Place it outermost, so it sees the error after every retry.
 *
 * @example
 * await client.prices.quote({ sku }, { fallback: () => ({ price: null }) })
 */
export function fallback(): Middleware {
  return (call, next) => (call.fallback ? withFallback(call, next, call.fallback) : next(call))
}

async function withFallback(call: Call, next: Next, answer: (error: unknown) => unknown): Promise<unknown> {
  try {
    return await next(call)
  } catch (err) {
    try {
      return await answer(normalizeError(err))
    } catch (fallbackErr) {
      throw normalizeError(fallbackErr)
    }
  }
}
