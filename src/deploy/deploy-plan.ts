import { TesseraError } from '../errors/index.ts'
import { planUnits, type SystemConfig, type UnitSpec } from '../runtime/config/index.ts'

/** The runtime's timings as the supervisor applies them (its defaults when the config has none). */
export interface DeployTimings {
  pingIntervalMs: number
  pingTimeoutMs: number
  readyTimeoutMs: number
  drainTimeoutMs: number
  drainGraceMs: number
}

export interface DeployPlan {
  system: string
  units: UnitSpec[]
  timings: DeployTimings
  /** The NATS transport every container joins (containers share no socket folder). */
  transport: { kind: 'nats'; servers: string[]; namespace: string }
  /** Tracing, only when spans have somewhere to go (OTLP): a container has no supervisor to keep them. */
  tracing: { sampleRatio: number; otlpEndpoint: string } | undefined
}

/**
 * The namespace part that stands for the state dir in a local run (`<system>-<key>`):
 * every image and manifest of a system uses this one, so they find each other on NATS.
 */
export const DEPLOY_STATE_KEY = 'k8s'

/**
 * What images and manifests are made from: the config's units and timings, with the
 * supervisor's defaults. Rejects with VALIDATION when the config's transport is not NATS:
 * the socket transport needs one folder shared by every instance, which pods do not have
 * (a config can choose by environment, e.g. `TESSERA_TRANSPORT=nats`).
 */
export function deployPlan(config: SystemConfig, root: string, env = process.env): DeployPlan {
  const t = config.transport
  if (t?.kind !== 'nats')
    throw new TesseraError(
      'VALIDATION',
      `${config.name}: containers need the NATS transport (transport.kind is ${t?.kind ?? 'socket, the default'}); ` +
        'set transport: { kind: "nats", servers } in the config, or have it chosen by environment',
    )
  if (t.credentials)
    // Never baked into an image or a manifest: the instance reads its login from a Secret.
    throw new TesseraError(
      'VALIDATION',
      `${config.name}: transport.credentials would end up in the image; give each pod its NATS login in a Secret (TESSERA_NATS_USER/TESSERA_NATS_PASSWORD or TESSERA_NATS_TOKEN) instead`,
    )
  const otlpEndpoint = config.tracing?.otlpEndpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT
  const sampleRatio = config.tracing?.sampleRatio ?? 0.1
  return {
    system: config.name,
    units: planUnits(config, root),
    timings: {
      pingIntervalMs: config.health?.pingIntervalMs ?? 1000,
      pingTimeoutMs: config.health?.pingTimeoutMs ?? 5000,
      readyTimeoutMs: config.health?.readyTimeoutMs ?? 30_000,
      drainTimeoutMs: config.drain?.timeoutMs ?? 10_000,
      drainGraceMs: config.drain?.graceMs ?? 300,
    },
    transport: {
      kind: 'nats',
      servers: Array.isArray(t.servers) ? t.servers : [t.servers],
      namespace: `${config.name}-${DEPLOY_STATE_KEY}`,
    },
    tracing: otlpEndpoint && sampleRatio > 0 ? { sampleRatio, otlpEndpoint } : undefined,
  }
}

/** The units named (all when none is), in config order; an unknown name is a NOT_FOUND. */
export function pickUnits(plan: DeployPlan, names: string[]): UnitSpec[] {
  for (const name of names)
    if (!plan.units.some((u) => u.name === name))
      throw new TesseraError(
        'NOT_FOUND',
        `${plan.system} has no unit ${name} (units: ${plan.units.map((u) => u.name).join(', ')})`,
      )
  return names.length === 0 ? plan.units : plan.units.filter((u) => names.includes(u.name))
}
