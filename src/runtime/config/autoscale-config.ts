import { type Static, Type as T } from '@sinclair/typebox'

/**
 * Config `autoscale` of a service or group: the runtime adds and removes instances
 * between `min` and `max` to hold the measured value near `target`
 * (src/runtime/supervisor/autoscaler.ts; docs/runtime.md, "Autoscaling").
 */
export const AutoscaleConfig = T.Object(
  {
    /** Fewest instances (at least 1: an idle unit still answers). */
    min: T.Integer({ minimum: 1, maximum: 64 }),
    /** Most instances. */
    max: T.Integer({ minimum: 1, maximum: 64 }),
    /**
     * What to hold: handler runs in flight per instance (`{ inFlight: 8 }`), or the p99
     * handle duration over the window in milliseconds (`{ p99Ms: 50 }`).
     */
    target: T.Union([
      T.Object({ inFlight: T.Number({ exclusiveMinimum: 0 }) }, { additionalProperties: false }),
      T.Object({ p99Ms: T.Number({ exclusiveMinimum: 0 }) }, { additionalProperties: false }),
    ]),
    /** Least time between two steps (and after the unit started). Default 15 000 ms. */
    cooldownMs: T.Optional(T.Integer({ minimum: 0 })),
    /** Scale out once the value over this window is above target. Default 3000 ms. */
    outAfterMs: T.Optional(T.Integer({ minimum: 1 })),
    /** Scale in once the value over this window is below `inBelow` × target. Default 15 000 ms. */
    inAfterMs: T.Optional(T.Integer({ minimum: 1 })),
    /** The hysteresis: scale in only below this share of the target (0 < inBelow < 1). Default 0.5. */
    inBelow: T.Optional(T.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 })),
  },
  { additionalProperties: false },
)

export type AutoscaleConfig = Static<typeof AutoscaleConfig>

/** `AutoscaleConfig` with its defaults filled in: what the autoscaler runs on. */
export interface AutoscaleSpec {
  min: number
  max: number
  target: { metric: 'inFlight' | 'p99Ms'; value: number }
  cooldownMs: number
  outAfterMs: number
  inAfterMs: number
  inBelow: number
}

export const autoscaleDefaults = {
  cooldownMs: 15_000,
  outAfterMs: 3000,
  inAfterMs: 15_000,
  inBelow: 0.5,
} as const

/** Fills in the defaults of a validated `autoscale`. */
export function autoscaleSpec(config: AutoscaleConfig): AutoscaleSpec {
  const target =
    'inFlight' in config.target
      ? { metric: 'inFlight' as const, value: config.target.inFlight }
      : { metric: 'p99Ms' as const, value: config.target.p99Ms }
  return {
    min: config.min,
    max: config.max,
    target,
    cooldownMs: config.cooldownMs ?? autoscaleDefaults.cooldownMs,
    outAfterMs: config.outAfterMs ?? autoscaleDefaults.outAfterMs,
    inAfterMs: config.inAfterMs ?? autoscaleDefaults.inAfterMs,
    inBelow: config.inBelow ?? autoscaleDefaults.inBelow,
  }
}

/**
 * What the schema cannot say about one `autoscale` (at `path`): min above max, a
 * configured `instances` outside the bounds.
 */
export function autoscaleIssues(
  path: string,
  autoscale: AutoscaleConfig,
  instances: number | undefined,
): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = []
  if (autoscale.min > autoscale.max)
    issues.push({
      path: `${path}.autoscale`,
      message: `min (${autoscale.min}) must not be above max (${autoscale.max})`,
    })
  else if (instances !== undefined && (instances < autoscale.min || instances > autoscale.max))
    issues.push({
      path: `${path}.instances`,
      message: `${instances} is outside autoscale bounds ${autoscale.min}..${autoscale.max} (leave it out to start at min)`,
    })
  return issues
}
