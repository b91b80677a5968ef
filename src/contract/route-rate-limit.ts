/** A fixed window: `max` requests (1..1 000 000) per `windowMs` (1 000..86 400 000 ms). */
export interface RouteRateLimit {
  max: number
  windowMs: number
}

/** Bounds of a route's rate limit; the gateway checks announced limits against the same. */
export const ROUTE_RATE_LIMIT_BOUNDS = {
  max: { min: 1, max: 1_000_000 },
  windowMs: { min: 1_000, max: 86_400_000 },
} as const

/**
 * Why `rateLimit` is not a valid route limit, or undefined when it is. Shared by
 * `defineService` (which throws) and the gateway (which skips the route), so both refuse
 * the same values with the same words.
 */
export function rateLimitProblem(rateLimit: unknown): string | undefined {
  if (typeof rateLimit !== 'object' || rateLimit === null)
    return 'rateLimit must be an object { max, windowMs }'
  const { max, windowMs } = rateLimit as Record<string, unknown>
  for (const [name, value] of [
    ['max', max],
    ['windowMs', windowMs],
  ] as const) {
    const bounds = ROUTE_RATE_LIMIT_BOUNDS[name]
    if (typeof value !== 'number' || !Number.isInteger(value) || value < bounds.min || value > bounds.max) {
      return `rateLimit.${name} must be an integer from ${bounds.min} to ${bounds.max}, got ${typeof value === 'number' ? value : JSON.stringify(value)}`
    }
  }
  return undefined
}
