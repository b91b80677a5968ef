import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * scrypt cost (see docs/decisions/0006-password-hashing.md): N = 2^15, r = 8, p = 1 uses
 * 32 MiB and ~50-100 ms per hash here, OWASP's minimum for scrypt. The parameters are
 * stored in each hash, so raising them later keeps old hashes verifiable.
 */
const LOG2_N = 15
const R = 8
const P = 1
const KEY_LENGTH = 32
const SALT_LENGTH = 16

/** Hashes a password as `scrypt$<log2 N>$<r>$<p>$<salt>$<key>` (base64url), salted per user. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH)
  const key = await derive(password, salt, LOG2_N, R, P, KEY_LENGTH)
  return ['scrypt', LOG2_N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/**
 * True when `password` matches `stored`. The keys are compared in constant time; a
 * malformed stored hash is false, never a throw, so a bad row cannot crash a login.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [log2n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
  if (![log2n, r, p].every((n) => Number.isInteger(n) && n > 0) || log2n > 20) return false
  const salt = Buffer.from(parts[4]!, 'base64url')
  const expected = Buffer.from(parts[5]!, 'base64url')
  if (expected.length === 0) return false
  const actual = await derive(password, salt, log2n, r, p, expected.length)
  return timingSafeEqual(actual, expected)
}

let dummy: Promise<string> | undefined
/**
 * A hash to verify against when the email is unknown, so a login for a missing account
 * takes as long as one with a wrong password and response times do not reveal accounts.
 */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('base64url'))
  return dummy
}

function derive(password: string, salt: Buffer, log2n: number, r: number, p: number, length: number) {
  const N = 2 ** log2n
  // Node refuses more than 32 MiB by default; scrypt needs 128 * N * r bytes, so allow twice that.
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r }
  return new Promise<Buffer>((resolve, reject) => {
    // Async scrypt runs on libuv's thread pool: the event loop keeps serving while it hashes.
    scrypt(password.normalize('NFKC'), salt, length, options, (err, key) =>
      err ? reject(err) : resolve(key),
    )
  })
}
