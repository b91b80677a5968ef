import { randomBytes } from 'node:crypto'
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TesseraError } from '../../errors/index.ts'
import {
  createNatsUserKey,
  type NatsCredentials,
  natsAuthorizationBlock,
  natsPermissions,
  natsUserPublicKey,
} from '../../transport/nats/index.ts'
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../files/index.ts'
import type { SystemConfig } from './schema.ts'
import { stateKeyOf, systemStateDir } from './state-dir.ts'
import { planUnits, resolveTransport } from './units.ts'

/**
 * Logins beside the config's units: the supervisor's own broker (the `caller`, whose
 * certificate names unit `supervisor`) and tools or tests that join with
 * `supervisor.issueCredential` (unit `client` by default). Each has its own user, so
 * neither can publish as a service's unit.
 */
export const SUPERVISOR_UNIT = 'supervisor'
export const CLIENT_UNIT = 'client'
const RESERVED_UNITS = [SUPERVISOR_UNIT, CLIENT_UNIT]

/** Where the seeds live, under the state dir; 0600, like everything the runtime writes. */
export const NATS_LOGINS_FILE = 'nats-logins.json'

interface LoginsFile {
  v: 1
  /** unit → its user nkey seed. Units no longer in the config are kept (re-added, same login). */
  units: Record<string, string>
}

/** Each unit's NATS login and the nats-server config that admits exactly those logins. */
export interface NatsLogins {
  /** The NATS namespace of the system (`tessera.<namespace>.…`). */
  readonly namespace: string
  /** Units with a login: every unit of the config, then SUPERVISOR_UNIT and CLIENT_UNIT. */
  readonly units: readonly string[]
  /**
   * The login instances of `unit` connect with (an nkey seed: the server only ever sees
   * a signature). Throws NOT_FOUND for a unit this config does not have.
   */
  loginFor(unit: string): NatsCredentials
  /**
   * The nats-server `authorization { users: [...] }` block: one nkey user per unit with
   * the permissions of `natsPermissions` for this namespace. Public keys only, no secret.
   */
  serverConfig(): string
}

/**
 * Loads the system's per-unit NATS logins from `<stateDir>/nats-logins.json`, creating a
 * seed for every unit that has none yet (the file is 0600 in the 0700 state dir; the first
 * writer wins when two processes create it at once). Called by `tessera nats-config` to
 * write the server config and by the supervisor to hand each instance its login, so both
 * agree as long as they see the same state dir. Rejects with BAD_REQUEST when the system
 * is not on NATS, when its config names one shared login (`transport.credentials`), or
 * when the `nats` package is missing.
 *
 * @example
 * const logins = await loadNatsLogins(config, root)
 * natsTransport({ servers, namespace: logins.namespace, credentials: logins.loginFor('orders') })
 */
export async function loadNatsLogins(config: SystemConfig, root: string): Promise<NatsLogins> {
  const transport = config.transport
  if (transport?.kind !== 'nats') {
    throw new TesseraError('BAD_REQUEST', `${config.name} does not use the NATS transport`)
  }
  if (transport.credentials !== undefined) {
    throw new TesseraError(
      'BAD_REQUEST',
      `${config.name} names one NATS login for every unit (transport.credentials); remove it to give each unit its own`,
    )
  }
  const stateDir = systemStateDir(config, root)
  const resolved = resolveTransport(config, stateKeyOf(stateDir))
  if (resolved.kind !== 'nats') throw new TypeError('unreachable: resolved a non-NATS transport')
  const planned = planUnits(config, root).map((u) => u.name)
  const clash = planned.find((u) => RESERVED_UNITS.includes(u))
  if (clash !== undefined) {
    throw new TesseraError(
      'BAD_REQUEST',
      `a unit may not be called ${clash} on NATS: that login is the runtime's own; rename the service or group`,
    )
  }
  const units = [...planned, ...RESERVED_UNITS]
  const seeds = await ensureSeeds(stateDir, units)
  const publicKeys = new Map<string, string>()
  for (const unit of units) publicKeys.set(unit, await natsUserPublicKey(seeds[unit]!))
  return {
    namespace: resolved.namespace,
    units,
    loginFor(unit) {
      const seed = publicKeys.has(unit) ? seeds[unit] : undefined
      if (seed === undefined) throw new TesseraError('NOT_FOUND', `no unit ${unit} in ${config.name}`)
      return { nkeySeed: seed }
    },
    serverConfig() {
      const header = [
        `# NATS users of the Tessera system ${config.name} (namespace ${resolved.namespace}),`,
        '# written by `tessera nats-config`. Include it in nats-server.conf. One user per unit:',
        '# it may publish only as its own unit and read only what is addressed to it.',
        `# The logins (nkey seeds) are in ${join(stateDir, NATS_LOGINS_FILE)}.`,
      ]
      const users = units.map((unit) => ({
        nkey: publicKeys.get(unit)!,
        permissions: natsPermissions(resolved.namespace, unit),
        comment:
          unit === SUPERVISOR_UNIT
            ? 'the supervisor'
            : unit === CLIENT_UNIT
              ? 'tools and tests that join with supervisor.issueCredential'
              : `unit ${unit}`,
      }))
      return `${header.join('\n')}\n${natsAuthorizationBlock(users)}`
    },
  }
}

async function ensureSeeds(stateDir: string, units: string[]): Promise<Record<string, string>> {
  const file = join(stateDir, NATS_LOGINS_FILE)
  let current = await readLogins(file)
  if (current && units.every((u) => current!.units[u] !== undefined)) return current.units
  ensurePrivateDir(stateDir)
  const next: LoginsFile = { v: 1, units: { ...current?.units } }
  for (const unit of units) next.units[unit] ??= (await createNatsUserKey()).seed
  const tmp = join(stateDir, `.${NATS_LOGINS_FILE}.${randomBytes(6).toString('hex')}`)
  await writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' })
  try {
    if (current === undefined) {
      // Created once: link fails if another process made the file meanwhile, and theirs wins.
      try {
        await link(tmp, file)
        return next.units
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        current = await readLogins(file)
        if (current && units.every((u) => current!.units[u] !== undefined)) return current.units
        return await ensureSeeds(stateDir, units)
      }
    }
    await rename(tmp, file)
    return next.units
  } finally {
    await rm(tmp, { force: true })
  }
}

async function readLogins(file: string): Promise<LoginsFile | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const parsed = JSON.parse(text) as Partial<LoginsFile>
  if (parsed.v !== 1 || typeof parsed.units !== 'object' || parsed.units === null) {
    throw new TesseraError('BAD_REQUEST', `${file} is not a Tessera NATS logins file`)
  }
  return parsed as LoginsFile
}
