import {
  type ContractDiff,
  type ContractUse,
  diffContracts,
  formatContractDiff,
  type ServiceContract,
} from '../../contract/index.ts'
import { TesseraError } from '../../errors/index.ts'
import type { UnitBuild } from '../build/index.ts'
import type { UnitSpec } from '../config/index.ts'
import { launchRequest } from './launch-request.ts'
import type { UnitContext } from './unit-context.ts'

/**
 * The contracts of the services `build` defines, read by one short instance in describe
 * mode (it imports the bundle, reports, exits; it joins nothing and starts nothing).
 * Rejects with VALIDATION and the instance's reason when the bundle does not load.
 */
export async function describeBuild(
  ctx: UnitContext,
  spec: UnitSpec,
  build: UnitBuild,
): Promise<ServiceContract[]> {
  const nodeId = `${ctx.system}-${spec.name}-describe-${Math.random().toString(36).slice(2, 8)}`
  // No credential: it joins nothing, so it is issued none.
  const { credentialFor: _issue, ...withoutIdentity } = ctx
  const {
    credential: _c,
    natsLogin: _n,
    ...request
  } = launchRequest(withoutIdentity, spec, {
    label: `${spec.name}:describe`,
    nodeId,
    build,
    socket: undefined,
  })
  const { tracing: _t, identity: _i, ...env } = request.env
  let contracts: ServiceContract[] | undefined
  const inst = ctx.launcher.launch({
    ...request,
    env: { ...env, describe: true },
    onContract: (services) => {
      contracts = services
    },
  })
  inst.ready.catch(() => {}) // it exits without ever being ready
  const end = await inst.exited
  if (contracts) return contracts
  throw new TesseraError(
    'VALIDATION',
    `could not read the contracts of ${spec.name}'s new build: ${end.reason}`,
  )
}

/**
 * What changes for the users of the running services when `next` replaces `running`:
 * one diff per service of either (a service the new build no longer defines is all
 * breaking). Diffs with no change at all are left out.
 */
export function contractChanges(
  running: ServiceContract[],
  next: ServiceContract[],
  use: ContractUse = {},
): ContractDiff[] {
  const byName = new Map(next.map((c) => [c.name, c]))
  const diffs: ContractDiff[] = []
  for (const old of running) {
    const now = byName.get(old.name) ?? { name: old.name, version: '(none)', actions: {}, events: {} }
    diffs.push(diffContracts(old, now, use))
  }
  return diffs.filter((d) => d.breaking.length > 0 || d.compatible.length > 0)
}

/** The refusal of a deploy whose contract breaks its users: CONFLICT, the readable diff as its message. */
export function breakingDeploy(unit: string, diffs: ContractDiff[]): TesseraError {
  const breaking = diffs.filter((d) => d.breaking.length > 0)
  const text = breaking.map(formatContractDiff).join('\n')
  return new TesseraError(
    'CONFLICT',
    `deploy of ${unit} refused: the new version breaks its contract (deploy with force to do it anyway)\n${text}`,
    { diffs: breaking },
  )
}
