import { createHash, hkdfSync } from 'node:crypto'
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { TesseraError } from '../../errors/index.ts'
import { type Authority, authorityKey, createAuthority } from '../../identity/index.ts'
import { ensurePrivateDir } from '../files/index.ts'

/** The file, in the config's state dir, that every host of a system must hold the same copy of. */
export const SYSTEM_KEY_FILE = 'system-key'

/** What the one secret of a system over many hosts gives each agent. */
export interface SystemKey {
  /** The identity authority of every instance on every host (decision 0013). */
  authority: Authority
  /** Names the system's NATS namespace and KV buckets: the same on every host. */
  stateKey: string
  /** Signs and checks the requests agents send each other (agent-rpc.ts). */
  controlKey: Buffer
}

/**
 * The system key: `TESSERA_SYSTEM_KEY` if set, else the file (made once, 0600, by the
 * first agent that finds none; a race between agents starting together is settled by
 * an exclusive link, so all read the same key). On many machines, copy the file to each
 * host (or set the variable): an agent with another key forms a system of its own that
 * the others refuse. Whoever holds it can issue credentials of the system: keep it like
 * the control token.
 *
 * @example
 * const key = loadSystemKey(join(stateDir, SYSTEM_KEY_FILE))
 */
export function loadSystemKey(file: string, env: NodeJS.ProcessEnv = process.env): SystemKey {
  const given = env.TESSERA_SYSTEM_KEY?.trim()
  const text = given || readOrCreate(file)
  try {
    const authority = createAuthority(text)
    const secret = Buffer.from(text, 'base64url')
    return {
      authority,
      stateKey: createHash('sha256').update(authority.publicKey).digest('hex').slice(0, 8),
      controlKey: Buffer.from(hkdfSync('sha256', secret, 'tessera', 'agent-control', 32)),
    }
  } catch (err) {
    throw new TesseraError(
      'BAD_REQUEST',
      `${given ? 'TESSERA_SYSTEM_KEY' : file} does not hold a system key (an Ed25519 PKCS#8 key, base64url)`,
      undefined,
      { cause: err },
    )
  }
}

function readOrCreate(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  ensurePrivateDir(dirname(file))
  // Written whole under a temporary name, then linked: a reader never sees half a key,
  // and of agents racing here the first link wins and the others read its key.
  const temp = join(dirname(file), `.${SYSTEM_KEY_FILE}.${process.pid}.${Date.now()}`)
  writeFileSync(temp, `${authorityKey()}\n`, { mode: 0o600 })
  try {
    linkSync(temp, file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    rmSync(temp, { force: true })
  }
  return readFileSync(file, 'utf8').trim()
}
