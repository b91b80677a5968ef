import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Principal } from 'tessera/context'
import type { DatabaseConfig } from '../lib/database-config.ts'
import { verifyAccessToken } from '../services/auth/tokens.ts'

/** An Ed25519 key pair made for this test run (there is no key in the sources). */
export interface TestKeys {
  privateKey: KeyObject
  publicKey: KeyObject
  /** PKCS#8 PEM, as `TESSERA_JWT_PRIVATE_KEY` takes it. */
  privatePem: string
  /** SPKI PEM, as `TESSERA_JWT_PUBLIC_KEY` takes it. */
  publicPem: string
}

export function newTestKeys(): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return {
    privateKey,
    publicKey,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  }
}

/** The key pair tests that run auth in-process sign with. */
export const TEST_KEYS = newTestKeys()

/** Database configs by service name: SQLite files in a fresh temp dir, or schemas in one PostgreSQL database. */
export type DatabasesFor = (service: string) => DatabaseConfig

export interface TempSqlite extends Disposable {
  readonly dir: string
  readonly configFor: DatabasesFor
}

/** A temp dir of SQLite files, removed on dispose. */
export function tempSqlite(): TempSqlite {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ref-'))
  return {
    dir,
    configFor: (service) => ({ kind: 'sqlite', file: join(dir, `${service}.sqlite`) }),
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** The principal the gateway would derive from an access token signed with TEST_KEYS (or `publicKey`'s pair). */
export function principalOf(
  accessToken: string,
  publicKey: KeyObject = TEST_KEYS.publicKey,
): Promise<Principal> {
  return verifyAccessToken(publicKey, accessToken)
}

/** Polls `probe` until it returns a value other than undefined (events are asynchronous). */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 3_000,
): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The rejection of `promise` (fails when it resolves), for asserting on error codes and data. */
export async function rejectionOf(
  promise: Promise<unknown>,
): Promise<{ code?: string; message: string; data?: any }> {
  try {
    await promise
  } catch (err) {
    return err as { code?: string; message: string; data?: any }
  }
  throw new Error('expected a rejection')
}
