import { join } from 'node:path'
import type { SystemConfig } from '../config/index.ts'

/**
 * The config one host's supervisor runs: every unit at zero instances (the agent scales
 * each to the slots it holds), no autoscaling (the wanted count is the system's, in KV),
 * (the holder of each autoscaled unit's slot 1 steps the system's count, host-autoscale.ts),
 * and its own state dir `<stateDir>/hosts/<host>` (logs, builds, control.json), so agents
 * of several hosts can share one folder (or one machine, as the tests do).
 */
export function localConfig(config: SystemConfig, host: string): SystemConfig {
  const services = Object.fromEntries(
    Object.entries(config.services).map(([name, { autoscale: _a, ...svc }]) => [
      name,
      { ...svc, instances: 0 },
    ]),
  )
  const groups = config.groups
    ? Object.fromEntries(
        Object.entries(config.groups).map(([name, { autoscale: _a, ...g }]) => [
          name,
          { ...g, instances: 0 },
        ]),
      )
    : undefined
  return {
    ...config,
    stateDir: join(config.stateDir ?? '.tessera', 'hosts', host),
    services,
    ...(groups ? { groups } : {}),
  }
}
