/**
 * The Ed25519 key pair access tokens are signed with (auth) and verified with (the
 * gateway, which needs only the public half). Where it comes from:
 *
 * 1. `TESSERA_JWT_PRIVATE_KEY` (PKCS#8 PEM) and/or `TESSERA_JWT_PUBLIC_KEY` (SPKI PEM),
 *    when set: auth needs the private key, a verifier the public one (or derives it).
 * 2. Else the files `access-token.key` / `access-token.pub` in `$TESSERA_DATA_DIR/keys`
 *    (default `.tessera/data/keys`), generated on the first start: files 0600, folder
 *    0700. Every instance of every unit, in any process, reads the same pair; two
 *    processes starting at once agree on one (the first to `link` its file wins, the
 *    other reads the winner's).
 *
 * There is no key in the source: a token is only as good as the private key is secret.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomUUID } from 'node:crypto'
import { chmod, link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { exportPKCS8, generateKeyPair } from 'jose'

/** The JWS algorithm of access tokens (Ed25519). */
export const ACCESS_TOKEN_ALG = 'EdDSA'
export const PRIVATE_KEY_FILE = 'access-token.key'
export const PUBLIC_KEY_FILE = 'access-token.pub'

export interface SigningKeys {
  privateKey: KeyObject
  publicKey: KeyObject
}

export interface KeyPairPem {
  privatePem: string
  publicPem: string
}

/** Where the generated key files live: `$TESSERA_DATA_DIR/keys` (default `.tessera/data/keys`). */
export function keyDirFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.TESSERA_DATA_DIR || join('.tessera', 'data'), 'keys')
}

/** The keys auth signs with: from the environment, else the key files (made on first use). */
export async function signingKeysFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<SigningKeys> {
  const privatePem = nonEmpty(env.TESSERA_JWT_PRIVATE_KEY)
  const publicPem = nonEmpty(env.TESSERA_JWT_PUBLIC_KEY)
  if (privatePem === undefined && publicPem !== undefined)
    throw new Error(
      'TESSERA_JWT_PUBLIC_KEY is set but TESSERA_JWT_PRIVATE_KEY is not: auth could not sign tokens that verify',
    )
  const pair =
    privatePem !== undefined ? pemPair(privatePem, publicPem) : await ensureKeyFiles(keyDirFromEnv(env))
  return { privateKey: ed25519Private(pair.privatePem), publicKey: createPublicKey(pair.publicPem) }
}

/**
 * The public key a verifier (the gateway) checks tokens with: `TESSERA_JWT_PUBLIC_KEY`,
 * else the one of `TESSERA_JWT_PRIVATE_KEY`, else the public key file (the pair is made
 * when there is none yet, so the gateway may start before auth).
 */
export async function verifyingKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<KeyObject> {
  const publicPem = nonEmpty(env.TESSERA_JWT_PUBLIC_KEY)
  if (publicPem !== undefined) return ed25519Public(publicPem)
  const privatePem = nonEmpty(env.TESSERA_JWT_PRIVATE_KEY)
  if (privatePem !== undefined) return ed25519Public(pemPair(privatePem, undefined).publicPem)
  const dir = keyDirFromEnv(env)
  const onDisk = await readIfExists(join(dir, PUBLIC_KEY_FILE))
  return ed25519Public(onDisk ?? (await ensureKeyFiles(dir)).publicPem)
}

/**
 * Reads the key pair in `dir`, generating it when there is none. Safe against other
 * processes doing the same at the same moment: the private key is written to a temp
 * file and `link`ed into place, which fails when the name exists; the loser reads the
 * winner's key. Refuses a private key file others may read, or a public key file that
 * does not belong to it.
 */
export async function ensureKeyFiles(dir: string): Promise<KeyPairPem> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const privatePath = join(dir, PRIVATE_KEY_FILE)
  let privatePem = await readIfExists(privatePath)
  if (privatePem === undefined) {
    const { privateKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true })
    const temp = await writeTemp(dir, PRIVATE_KEY_FILE, await exportPKCS8(privateKey))
    try {
      await link(temp, privatePath)
    } catch (err) {
      // Another process linked its key first: use that one.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    } finally {
      await unlink(temp).catch(() => undefined)
    }
    privatePem = await readFile(privatePath, 'utf8')
  }
  const mode = (await stat(privatePath)).mode & 0o777
  if ((mode & 0o077) !== 0)
    throw new Error(`${privatePath} is readable by others (mode ${mode.toString(8)}): chmod 600 it`)
  const { publicPem } = pemPair(privatePem, undefined)
  const publicPath = join(dir, PUBLIC_KEY_FILE)
  const publicOnDisk = await readIfExists(publicPath)
  if (publicOnDisk === undefined) {
    // Derived from the one private key, so concurrent writers write the same bytes.
    await rename(await writeTemp(dir, PUBLIC_KEY_FILE, publicPem), publicPath)
  } else if (publicOnDisk.trim() !== publicPem.trim()) {
    throw new Error(`${publicPath} does not belong to ${privatePath}: remove both to make a new pair`)
  }
  return { privatePem, publicPem }
}

/** The PEMs of a private key and its public key (given: checked to match; else derived). */
function pemPair(privatePem: string, publicPem: string | undefined): KeyPairPem {
  const derived = createPublicKey(ed25519Private(privatePem)).export({
    type: 'spki',
    format: 'pem',
  }) as string
  if (publicPem !== undefined && !createPublicKey(publicPem).equals(createPublicKey(derived)))
    throw new Error('TESSERA_JWT_PUBLIC_KEY is not the public key of TESSERA_JWT_PRIVATE_KEY')
  return { privatePem, publicPem: derived }
}

function ed25519Private(pem: string): KeyObject {
  const key = createPrivateKey(pem)
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the access token private key must be Ed25519')
  return key
}

function ed25519Public(pem: string): KeyObject {
  const key = createPublicKey(pem)
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the access token public key must be Ed25519')
  return key
}

/** Writes `content` to a new temp file (mode 0600, flushed) next to `name`; returns its path. */
async function writeTemp(dir: string, name: string, content: string): Promise<string> {
  const path = join(dir, `.${name}.${process.pid}.${randomUUID()}.tmp`)
  const file = await open(path, 'wx', 0o600)
  try {
    await file.writeFile(content)
    await file.sync()
  } finally {
    await file.close()
  }
  return path
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}
