import { execFile } from 'node:child_process'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { SignJWT } from 'jose'
import type { Broker } from 'tessera/broker'
import { createAuthenticator } from 'tessera/gateway'
import { describe, expect, it } from 'vitest'
import { referenceGatewayOptions } from '../../gateway/options.ts'
import { rejectionOf, tempSqlite } from '../../test/helpers.ts'
import {
  ensureKeyFiles,
  keyDirFromEnv,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  signingKeysFromEnv,
  verifyingKeyFromEnv,
} from './keys.ts'
import { AUDIENCE, ISSUER, signAccessToken, verifyAccessToken } from './tokens.ts'

/** The HS256 secret that was in tokens.ts (so anyone could sign with it) until access tokens became EdDSA. */
const OLD_DEV_SECRET = 'tessera-dev-secret-do-not-use-in-production-0123456789'

const noRevocations = {
  client: () => ({ isRevoked: async () => ({ revoked: false }) }),
} as unknown as Broker

/** The gateway's token check as the reference system configures it, with keys from `env`. */
async function gatewayAuth(env: NodeJS.ProcessEnv) {
  const options = await referenceGatewayOptions(noRevocations, env)
  return createAuthenticator(options.auth)
}

function token(
  key: KeyObject | Uint8Array,
  claims: { exp?: number | null; aud?: string | null; iss?: string; roles?: string[] } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  let jwt = new SignJWT({ roles: claims.roles ?? ['user'] })
    .setProtectedHeader({ alg: key instanceof Uint8Array ? 'HS256' : 'EdDSA', typ: 'JWT' })
    .setSubject('u-1')
    .setJti('j-1')
    .setIssuer(claims.iss ?? ISSUER)
    .setIssuedAt(now)
  if (claims.exp !== null) jwt = jwt.setExpirationTime(claims.exp ?? now + 600)
  if (claims.aud !== null) jwt = jwt.setAudience(claims.aud ?? AUDIENCE)
  return jwt.sign(key)
}

describe('access token keys and claims', () => {
  it('signs with the generated key; the gateway and verifyAccessToken accept it', async () => {
    using temp = tempSqlite()
    const env = { TESSERA_DATA_DIR: temp.dir }
    const { privateKey } = await signingKeysFromEnv(env)
    const { token: signed } = await signAccessToken(privateKey, 'u-1', ['user'], Date.now(), 60)
    expect((await (await gatewayAuth(env)).authenticate(`Bearer ${signed}`)).id).toBe('u-1')
    expect((await verifyAccessToken(await verifyingKeyFromEnv(env), signed)).id).toBe('u-1')
  })

  it('refuses an admin token signed HS256 with the old development secret (no key set: the npm start default)', async () => {
    using temp = tempSqlite()
    const env = { TESSERA_DATA_DIR: temp.dir }
    const forged = await token(new TextEncoder().encode(OLD_DEV_SECRET), { roles: ['user', 'admin'] })
    const err = await rejectionOf((await gatewayAuth(env)).authenticate(`Bearer ${forged}`))
    expect(err.code).toBe('UNAUTHORIZED')
    const direct = await rejectionOf(verifyAccessToken(await verifyingKeyFromEnv(env), forged))
    expect(direct.code).toBe('UNAUTHORIZED')
  })

  it('refuses a token signed with another Ed25519 key', async () => {
    using temp = tempSqlite()
    const env = { TESSERA_DATA_DIR: temp.dir }
    const forged = await token(generateKeyPairSync('ed25519').privateKey)
    expect((await rejectionOf((await gatewayAuth(env)).authenticate(`Bearer ${forged}`))).code).toBe(
      'UNAUTHORIZED',
    )
    expect((await rejectionOf(verifyAccessToken(await verifyingKeyFromEnv(env), forged))).code).toBe(
      'UNAUTHORIZED',
    )
  })

  it.each([
    ['no exp', { exp: null }],
    ['no aud', { aud: null }],
    ['another aud', { aud: 'someone-elses-api' }],
    ['another iss', { iss: 'someone-else' }],
  ] as const)('refuses a well-signed token with %s', async (_label, claims) => {
    using temp = tempSqlite()
    const env = { TESSERA_DATA_DIR: temp.dir }
    const { privateKey, publicKey } = await signingKeysFromEnv(env)
    const bad = await token(privateKey, claims)
    expect((await rejectionOf((await gatewayAuth(env)).authenticate(`Bearer ${bad}`))).code).toBe(
      'UNAUTHORIZED',
    )
    expect((await rejectionOf(verifyAccessToken(publicKey, bad))).code).toBe('UNAUTHORIZED')
    // The same claims with exp and aud pass: the signature is good, the missing claim is the reason.
    expect((await verifyAccessToken(publicKey, await token(privateKey))).id).toBe('u-1')
  })

  it('keeps the generated pair in files 0600 in a folder 0700, and reads the same pair later', async () => {
    using temp = tempSqlite()
    const env = { TESSERA_DATA_DIR: join(temp.dir, 'data') }
    const first = await signingKeysFromEnv(env)
    const dir = keyDirFromEnv(env)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(readdirSync(dir).sort()).toEqual([PRIVATE_KEY_FILE, PUBLIC_KEY_FILE])
    for (const file of [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE])
      expect(statSync(join(dir, file)).mode & 0o777, file).toBe(0o600)
    expect(readFileSync(join(dir, PRIVATE_KEY_FILE), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    const again = await signingKeysFromEnv(env)
    expect(again.publicKey.equals(first.publicKey)).toBe(true)
    expect((await verifyingKeyFromEnv(env)).equals(first.publicKey)).toBe(true)
  })

  it('agrees on one pair when several loads race in one empty folder', async () => {
    using temp = tempSqlite()
    const dir = join(temp.dir, 'keys')
    const loads = await Promise.all(Array.from({ length: 8 }, () => ensureKeyFiles(dir)))
    expect(new Set(loads.map((l) => l.privatePem)).size).toBe(1)
    expect(new Set(loads.map((l) => l.publicPem)).size).toBe(1)
    expect(readFileSync(join(dir, PUBLIC_KEY_FILE), 'utf8')).toBe(loads[0]!.publicPem)
    // No temp files left behind.
    expect(readdirSync(dir).sort()).toEqual([PRIVATE_KEY_FILE, PUBLIC_KEY_FILE])
  })

  it('agrees on one pair when two processes load at once (auth and the gateway at first start)', async () => {
    using temp = tempSqlite()
    const dir = join(temp.dir, 'keys')
    const script = `import { ensureKeyFiles } from ${JSON.stringify(fileURLToPath(new URL('./keys.ts', import.meta.url)))}
const { publicPem } = await ensureKeyFiles(${JSON.stringify(dir)})
process.stdout.write(publicPem)`
    const run = () =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script])
    const outs = await Promise.all([run(), run(), run()])
    expect(new Set(outs.map((o) => o.stdout)).size).toBe(1)
    expect(outs[0]!.stdout).toBe(readFileSync(join(dir, PUBLIC_KEY_FILE), 'utf8'))
  }, 30_000)

  it('refuses a private key file others can read', async () => {
    using temp = tempSqlite()
    const dir = join(temp.dir, 'keys')
    await ensureKeyFiles(dir)
    const { chmod } = await import('node:fs/promises')
    await chmod(join(dir, PRIVATE_KEY_FILE), 0o644)
    await expect(ensureKeyFiles(dir)).rejects.toThrow(/readable by others/)
  })

  it('takes the pair from TESSERA_JWT_PRIVATE_KEY / TESSERA_JWT_PUBLIC_KEY, and refuses a mismatch', async () => {
    const a = generateKeyPairSync('ed25519')
    const b = generateKeyPairSync('ed25519')
    const pem = (k: KeyObject, type: 'pkcs8' | 'spki') => k.export({ type, format: 'pem' }) as string
    const env = { TESSERA_JWT_PRIVATE_KEY: pem(a.privateKey, 'pkcs8'), TESSERA_DATA_DIR: '/nonexistent' }
    const keys = await signingKeysFromEnv(env)
    expect(keys.publicKey.equals(a.publicKey)).toBe(true)
    expect(
      (await verifyingKeyFromEnv({ TESSERA_JWT_PUBLIC_KEY: pem(a.publicKey, 'spki') })).equals(a.publicKey),
    ).toBe(true)
    await expect(
      signingKeysFromEnv({ ...env, TESSERA_JWT_PUBLIC_KEY: pem(b.publicKey, 'spki') }),
    ).rejects.toThrow(/not the public key/)
    await expect(signingKeysFromEnv({ TESSERA_JWT_PUBLIC_KEY: pem(a.publicKey, 'spki') })).rejects.toThrow(
      /TESSERA_JWT_PRIVATE_KEY is not/,
    )
  })
})
