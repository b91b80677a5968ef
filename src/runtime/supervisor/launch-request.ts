import type { UnitBuild } from '../build/index.ts'
import type { UnitSpec } from '../config/index.ts'
import type { LaunchRequest } from '../launcher/index.ts'
import type { SharedSocket } from './shared-socket.ts'
import type { UnitContext } from './unit-context.ts'

/**
 * What the launcher is asked for one new instance of `spec`: the unit's settings, the
 * system's (transport, timing, tracing), its credential if the system has identities,
 * and where its lines and spans go. Asks the context for the credential: each call
 * issues a new one for `nodeId`.
 */
export function launchRequest(
  ctx: UnitContext,
  spec: UnitSpec,
  o: { label: string; nodeId: string; build: UnitBuild | undefined; socket: SharedSocket | undefined },
): LaunchRequest {
  const { label, nodeId, socket } = o
  const secrets = ctx.credentialFor?.(nodeId, spec)
  return {
    label,
    nodeId,
    unit: spec,
    build: o.build,
    buildDir: ctx.buildDir,
    root: ctx.root,
    env: {
      nodeId,
      services: spec.services,
      needs: spec.needs,
      transport: ctx.transport,
      drainTimeoutMs: ctx.timing.drainTimeoutMs,
      drainGraceMs: ctx.timing.drainGraceMs,
      readyTimeoutMs: ctx.timing.readyTimeoutMs,
      ...(secrets ? { identity: true } : {}),
      ...(ctx.tracing ? { tracing: ctx.tracing } : {}),
      ...(ctx.callMetrics === false ? { callMetrics: false as const } : {}),
    },
    listen: socket && { fd: socket.fd, host: socket.host, port: socket.port },
    transportDirs: ctx.transportDirs,
    timing: ctx.timing,
    ...(secrets ? { credential: secrets.credential } : {}),
    ...(secrets?.natsLogin ? { natsLogin: secrets.natsLogin } : {}),
    onLine: (line, stream) => ctx.onLine(spec.name, label, line, stream),
    ...(ctx.onSpans ? { onSpans: (spans) => ctx.onSpans?.(spans) } : {}),
  }
}
