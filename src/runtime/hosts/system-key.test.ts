import { createPublicKey } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { verifyCertificate } from '../../identity/index.ts'
import { loadSystemKey } from './system-key.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'tessera-key-'))
  dirs.push(d)
  return join(d, 'state', 'system-key')
}

describe('loadSystemKey', () => {
  it('makes the file once (0600) and gives every later load the same system', () => {
    const file = fresh()
    const first = loadSystemKey(file, {})
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const again = loadSystemKey(file, {})
    expect(again.stateKey).toBe(first.stateKey)
    expect(again.controlKey.equals(first.controlKey)).toBe(true)
    expect(again.authority.publicKey).toBe(first.authority.publicKey)
  })

  it('issues credentials another host with the same key accepts', () => {
    const file = fresh()
    const hostA = loadSystemKey(file, {})
    const hostB = loadSystemKey('/nonexistent/dir/system-key', {
      TESSERA_SYSTEM_KEY: readFileSync(file, 'utf8'),
    })
    const credential = hostA.authority.issue({
      node: 'n1',
      unit: 'users',
      services: ['users'],
      assertsPrincipal: false,
    })
    const publicKey = createPublicKey({
      key: Buffer.from(hostB.authority.publicKey, 'base64url'),
      format: 'der',
      type: 'spki',
    })
    expect(verifyCertificate(credential.certificate, publicKey)?.identity.node).toBe('n1')
    expect(hostB.stateKey).toBe(hostA.stateKey)
  })

  it('refuses a key that is not one with a BAD_REQUEST naming its source', () => {
    expect(() => loadSystemKey(fresh(), { TESSERA_SYSTEM_KEY: 'not-a-key' })).toThrow(
      /TESSERA_SYSTEM_KEY does not hold a system key/,
    )
  })

  it('makes different systems of different keys', () => {
    expect(loadSystemKey(fresh(), {}).stateKey).not.toBe(loadSystemKey(fresh(), {}).stateKey)
  })
})
