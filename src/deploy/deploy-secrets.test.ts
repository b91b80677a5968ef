import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createAuthority,
  credentialFromDelegation,
  loadCredential,
  parseDelegation,
  verifyCertificate,
} from '../identity/index.ts'
import type { SystemConfig } from '../runtime/index.ts'
import { natsUserPublicKey } from '../transport/nats/index.ts'
import { writeDeploySecrets } from './index.ts'

const config: SystemConfig = {
  name: 'shop',
  transport: { kind: 'nats', servers: 'nats://nats:4222' },
  services: {
    users: { entry: './users.ts' },
    orders: { entry: './orders.ts', dependsOn: ['users'] },
    gateway: { entry: './gateway.ts', listen: { port: 8080 } },
  },
}
const envFile = (text: string) =>
  Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  ) as Record<string, string>

describe('writeDeploySecrets (tessera build secrets)', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  const dirOf = () => {
    const d = join(mkdtempSync(join(tmpdir(), 'tessera-secrets-')), 'secrets')
    dirs.push(join(d, '..'))
    return d
  }

  it("writes each unit's identity and NATS login, private, and the NATS users that admit exactly them", async () => {
    const dir = dirOf()
    const files = await writeDeploySecrets(dir, { config, root: '/srv/shop' })
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual([
      'keys.json',
      'shop-users.env',
      'shop-orders.env',
      'shop-gateway.env',
      'create-secrets.sh',
      'nats-authorization.conf',
      'nats-values-authorization.yaml',
    ])
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    for (const f of ['keys.json', 'shop-orders.env']) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600)
    const keys = JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8')) as { authority: string }
    const authority = loadCredential(
      createAuthority(keys.authority).issue({ node: 'n', unit: 'x', services: [], assertsPrincipal: false }),
    ).authority
    const conf = readFileSync(join(dir, 'nats-authorization.conf'), 'utf8')
    for (const unit of ['users', 'orders', 'gateway']) {
      const env = envFile(readFileSync(join(dir, `shop-${unit}.env`), 'utf8'))
      expect(Object.keys(env)).toEqual(['TESSERA_IDENTITY', 'TESSERA_NATS_NKEY_SEED'])
      // A pod of this unit makes a credential its peers (same authority) accept, for its own node id.
      const made = credentialFromDelegation(parseDelegation(env.TESSERA_IDENTITY!), `${unit}-pod-x`)
      const identity = verifyCertificate(made.certificate, authority)?.identity
      expect(identity).toMatchObject({ node: `${unit}-pod-x`, unit, assertsPrincipal: unit === 'gateway' })
      if (unit === 'gateway') expect(identity?.hostsAnyExcept).toEqual(['users', 'orders'])
      // The server knows the login by its public key, in the deploy namespace, with the unit's permissions.
      expect(conf).toContain(await natsUserPublicKey(env.TESSERA_NATS_NKEY_SEED!))
      expect(conf).toContain(`"tessera.shop-k8s.discovery.${unit}.*"`)
      expect(conf).not.toContain(env.TESSERA_NATS_NKEY_SEED!)
    }
    expect(readFileSync(join(dir, 'create-secrets.sh'), 'utf8')).toContain(
      'kubectl -n "$1" create secret generic shop-orders --from-env-file=shop-orders.env',
    )
  })

  it('keeps the authority and the logins from one run to the next (the server config stays true)', async () => {
    const dir = dirOf()
    await writeDeploySecrets(dir, { config, root: '/srv/shop' })
    const first = readFileSync(join(dir, 'keys.json'), 'utf8')
    const conf = readFileSync(join(dir, 'nats-authorization.conf'), 'utf8')
    await writeDeploySecrets(dir, { config, root: '/srv/shop' })
    expect(readFileSync(join(dir, 'keys.json'), 'utf8')).toBe(first)
    expect(readFileSync(join(dir, 'nats-authorization.conf'), 'utf8')).toBe(conf)
    await expect(
      writeDeploySecrets(dir, { config: { ...config, name: 'other' }, root: '/srv/shop' }),
    ).rejects.toThrow(/keys of shop, not of other/)
  })
})
