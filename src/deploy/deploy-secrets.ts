import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TesseraError } from '../errors/index.ts'
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../files/index.ts'
import { authorityKey, delegateUnit, encodeDelegation, type Identity } from '../identity/index.ts'
import type { SystemConfig, UnitSpec } from '../runtime/config/index.ts'
import {
  createNatsUserKey,
  type NatsServerUser,
  natsAuthorizationBlock,
  natsPermissions,
  natsUserPublicKey,
} from '../transport/nats/index.ts'
import { type DeployPlan, deployPlan } from './deploy-plan.ts'
import { toYaml } from './yaml.ts'

/** The environment a unit's Secret `<system>-<unit>` holds (decision 0031). */
export const IDENTITY_ENV = 'TESSERA_IDENTITY'
export const NKEY_SEED_ENV = 'TESSERA_NATS_NKEY_SEED'

/** What stays the same from one `tessera build secrets` to the next: the authority and each unit's NATS seed. */
interface DeployKeys {
  v: 1
  system: string
  /** The authority's Ed25519 private key (PKCS#8 DER, base64url): signs the units' delegations. */
  authority: string
  /** unit → its NATS user nkey seed. */
  nats: Record<string, string>
}

/** A unit's Secret: its name and values, as `kubectl create secret generic --from-env-file` takes them. */
export interface UnitSecret {
  unit: string
  /** `<system>-<unit>`: the Secret every pod of the unit reads (`envFrom`, see unitManifests). */
  name: string
  values: Record<string, string>
}

export interface DeploySecrets {
  units: UnitSecret[]
  /** nats-server `authorization` users: one nkey user per unit with its permissions in the deploy namespace. */
  natsUsers: NatsServerUser[]
}

/**
 * Each unit's Secret values and the NATS server users that admit them, for a deployment
 * of `plan` (its namespace `<system>-k8s`):
 * - `TESSERA_IDENTITY`: the unit's delegation, signed by `keys.authority` for the identity
 *   the supervisor would give the unit's instances (its services; a unit with `listen`
 *   may assert principals and host any service no other unit owns). Each pod makes its
 *   own credential from it (`credentialFromDelegation`), so pods prove who they are as
 *   instances under the supervisor do.
 * - `TESSERA_NATS_NKEY_SEED`: the unit's NATS login; the server config has only its public key.
 */
async function deploySecrets(
  plan: DeployPlan,
  config: SystemConfig,
  keys: DeployKeys,
): Promise<DeploySecrets> {
  const units: UnitSecret[] = []
  const natsUsers: NatsServerUser[] = []
  for (const unit of plan.units) {
    const seed = keys.nats[unit.name]!
    units.push({
      unit: unit.name,
      name: `${plan.system}-${unit.name}`,
      values: {
        [IDENTITY_ENV]: encodeDelegation(delegateUnit(keys.authority, unitIdentity(config, unit))),
        [NKEY_SEED_ENV]: seed,
      },
    })
    natsUsers.push({
      nkey: await natsUserPublicKey(seed),
      permissions: natsPermissions(plan.transport.namespace, unit.name),
      comment: `unit ${unit.name}`,
    })
  }
  return { units, natsUsers }
}

/** The identity of a unit's instances, as the supervisor's `credentialFor` issues it. */
export function unitIdentity(config: SystemConfig, unit: UnitSpec): Omit<Identity, 'node'> {
  const services = unit.services.map((s) => s.name)
  return {
    unit: unit.name,
    services,
    assertsPrincipal: unit.listen !== undefined,
    // Its code may add services of its own (the gateway's event subscriber), never one another unit owns.
    ...(unit.listen !== undefined
      ? { hostsAnyExcept: Object.keys(config.services).filter((name) => !services.includes(name)) }
      : {}),
  }
}

export interface WriteDeploySecretsOptions {
  config: SystemConfig
  root: string
}

/**
 * `tessera build secrets -o <dir>`: writes, in a 0700 folder, with every file holding a
 * secret 0600:
 * - `keys.json`: the authority's private key and the units' NATS seeds, created on the
 *   first run and reused (a unit added later gets a seed added), so that the server config
 *   and the Secrets of two runs agree. Keep it out of the cluster and out of git.
 * - `<system>-<unit>.env`: the unit's Secret values (`kubectl create secret generic
 *   <system>-<unit> --from-env-file=…`).
 * - `create-secrets.sh`: those kubectl commands, for a namespace given as its argument.
 * - `nats-authorization.conf` and `nats-values-authorization.yaml`: the NATS users (public
 *   keys and permissions only, no secret) for a nats-server config or as extra values of
 *   the NATS Helm chart (`helm … -f nats/values.yaml -f <dir>/nats-values-authorization.yaml`).
 * Resolves with the files written. Rejects like `deployPlan`, and with BAD_REQUEST when
 * `keys.json` belongs to another system or the `nats` package is missing.
 *
 * @example
 * await writeDeploySecrets('secrets', await loadSystem('tessera.config.ts'))
 */
export async function writeDeploySecrets(dir: string, options: WriteDeploySecretsOptions): Promise<string[]> {
  const plan = deployPlan(options.config, options.root)
  await ensurePrivateDir(dir)
  const keysFile = join(dir, 'keys.json')
  const keys = await loadKeys(keysFile, plan)
  await writeFile(keysFile, `${JSON.stringify(keys, null, 2)}\n`, { mode: PRIVATE_FILE_MODE })
  const secrets = await deploySecrets(plan, options.config, keys)
  const files = [keysFile]
  const script = [
    '#!/bin/sh',
    '# Creates the Secrets of every unit: sh create-secrets.sh <namespace>',
    'set -e',
    'cd "$(dirname "$0")',
  ]
  for (const s of secrets.units) {
    const file = join(dir, `${s.name}.env`)
    const lines = Object.entries(s.values).map(([k, v]) => `${k}=${v}`)
    await writeFile(file, `${lines.join('\n')}\n`, { mode: PRIVATE_FILE_MODE })
    files.push(file)
    script.push(
      `kubectl -n "$1" create secret generic ${s.name} --from-env-file=${s.name}.env --dry-run=client -o yaml | kubectl -n "$1" apply -f -`,
    )
  }
  const scriptFile = join(dir, 'create-secrets.sh')
  await writeFile(scriptFile, `${script.join('\n')}\n`, { mode: 0o700 })
  const header = `# NATS users of ${plan.system} (namespace ${plan.transport.namespace}), by \`tessera build secrets\`: public keys and permissions only.\n`
  const conf = join(dir, 'nats-authorization.conf')
  await writeFile(conf, `${header}${natsAuthorizationBlock(secrets.natsUsers)}`, { mode: 0o644 })
  const values = join(dir, 'nats-values-authorization.yaml')
  const users = secrets.natsUsers.map((u) => ({ nkey: u.nkey, permissions: u.permissions }))
  await writeFile(values, `${header}${toYaml([{ config: { merge: { authorization: { users } } } }])}`, {
    mode: 0o644,
  })
  files.push(scriptFile, conf, values)
  return files
}

/** The keys of `plan`'s system from `file`, created when missing; a unit without a NATS seed gets one. */
async function loadKeys(file: string, plan: DeployPlan): Promise<DeployKeys> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  const keys: DeployKeys = text
    ? (JSON.parse(text) as DeployKeys)
    : { v: 1, system: plan.system, authority: authorityKey(), nats: {} }
  if (keys.v !== 1 || keys.system !== plan.system)
    throw new TesseraError('BAD_REQUEST', `${file} holds the keys of ${keys.system}, not of ${plan.system}`)
  for (const unit of plan.units) keys.nats[unit.name] ??= (await createNatsUserKey()).seed
  return keys
}
