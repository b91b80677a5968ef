import { TesseraError } from '../../errors/index.ts'
import { loadNats } from './connect.ts'

/** A NATS user nkey: the seed is the login (secret), the public key goes into the server config. */
export interface NatsUserKey {
  /** `SU...`: what the client signs the server's nonce with. Never logged. */
  seed: string
  /** `U...`: what nats-server's `authorization { users: [{ nkey }] }` names. */
  publicKey: string
}

/**
 * A fresh user nkey (Ed25519, NATS encoding), made with nats.js's own nkeys. Rejects
 * with BAD_REQUEST when the optional `nats` package is not installed.
 *
 * @example
 * const { seed, publicKey } = await createNatsUserKey()
 */
export async function createNatsUserKey(): Promise<NatsUserKey> {
  const { nkeys } = await loadNats()
  const pair = nkeys.createUser()
  return { seed: new TextDecoder().decode(pair.getSeed()), publicKey: pair.getPublicKey() }
}

/** The public key of a user nkey seed; BAD_REQUEST for anything that is not one. */
export async function natsUserPublicKey(seed: string): Promise<string> {
  const { nkeys } = await loadNats()
  try {
    const pair = nkeys.fromSeed(new TextEncoder().encode(seed))
    const publicKey = pair.getPublicKey()
    if (!publicKey.startsWith('U')) throw new Error('not a user key')
    return publicKey
  } catch (err) {
    throw new TesseraError('BAD_REQUEST', 'not a NATS user nkey seed', undefined, { cause: err })
  }
}
