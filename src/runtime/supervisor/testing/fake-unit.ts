import type { Clock } from '../../../context/index.ts'
import type { UnitSpec } from '../../config/index.ts'
import type { InstanceLauncher } from '../../launcher/index.ts'
import { defaultRestartPolicy } from '../crash-history.ts'
import type { SupervisorEvent } from '../events.ts'
import type { UnitContext } from '../unit-context.ts'

/** Unit `users` (one service, entry `/app/users.ts`) with `overrides`, for runner tests. */
export function fakeUnitSpec(overrides: Partial<UnitSpec> = {}): UnitSpec {
  return {
    name: 'users',
    services: [{ name: 'users', entry: '/app/users.ts' }],
    instances: 1,
    env: {},
    memoryMb: undefined,
    dependsOn: [],
    needs: [],
    ownFolders: undefined,
    ...overrides,
  }
}

/**
 * A runner's context over `launcher` and `clock` for system `shop`: events go to `events`,
 * lines nowhere, instances are visible at once, no builds; `overrides` replace any of it.
 */
export function fakeUnitContext(
  launcher: InstanceLauncher,
  clock: Clock,
  events: SupervisorEvent[],
  overrides: Partial<UnitContext> = {},
): UnitContext {
  return {
    system: 'shop',
    root: '/app',
    transport: { kind: 'socket', dir: '/tmp/never-used' },
    transportDirs: ['/tmp/never-used'],
    timing: {
      pingIntervalMs: 1000,
      pingTimeoutMs: 5000,
      readyTimeoutMs: 30_000,
      drainTimeoutMs: 10_000,
      drainGraceMs: 300,
    },
    restartPolicy: defaultRestartPolicy,
    launcher,
    clock,
    emit: (e) => events.push(e),
    onLine: () => {},
    awaitVisible: async () => {},
    build: undefined,
    buildDir: '/app/.tessera/build',
    ...overrides,
  }
}
