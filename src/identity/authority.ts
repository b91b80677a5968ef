import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { encodeCertificate, type Identity } from './certificate.ts'
import type { NodeCredential } from './credential.ts'

/** Issues node credentials. The runtime keeps one per running system, in memory only. */
export interface Authority {
  /** The public key every node checks certificates with (SPKI DER, base64url). */
  readonly publicKey: string
  /** A fresh key pair for `identity.node` and a certificate binding it to `identity`. */
  issue(identity: Identity): NodeCredential
}

/**
 * A new Ed25519 authority. Its private key never leaves this process: a restarted
 * supervisor makes a new one and restarts its instances with credentials from it.
 * Given `privateKey` (PKCS#8 DER, base64url, as `authorityKey()` makes), it is that
 * authority instead: the agents of one system on many hosts share one this way, so
 * their instances accept each other (src/runtime/hosts). A key that is not an Ed25519
 * private key throws.
 *
 * @example
 * const authority = createAuthority()
 * const credential = authority.issue({ node: 'orders-1', unit: 'orders', services: ['orders'], assertsPrincipal: false })
 */
export function createAuthority(key?: string): Authority {
  const { privateKey, publicKey } = key === undefined ? generateKeyPairSync('ed25519') : keyPair(key)
  const authority = der(publicKey, 'spki')
  return {
    publicKey: authority,
    issue(identity) {
      const pair = generateKeyPairSync('ed25519')
      const certificate = encodeCertificate(
        {
          node: identity.node,
          unit: identity.unit,
          services: [...identity.services],
          assertsPrincipal: identity.assertsPrincipal,
          ...(identity.hostsAnyExcept ? { hostsAnyExcept: [...identity.hostsAnyExcept] } : {}),
          key: der(pair.publicKey, 'spki'),
          iat: Date.now(),
        },
        (data) => sign(null, data, privateKey),
      )
      return { certificate, privateKey: der(pair.privateKey, 'pkcs8'), authority }
    },
  }
}

/** A new authority private key (Ed25519, PKCS#8 DER, base64url) for `createAuthority(key)`. */
export function authorityKey(): string {
  return der(generateKeyPairSync('ed25519').privateKey, 'pkcs8')
}

function keyPair(key: string): { privateKey: KeyObject; publicKey: KeyObject } {
  const privateKey = createPrivateKey({ key: Buffer.from(key, 'base64url'), format: 'der', type: 'pkcs8' })
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new TypeError('an authority key must be an Ed25519 private key')
  return { privateKey, publicKey: createPublicKey(privateKey) }
}

function der(key: KeyObject, type: 'spki' | 'pkcs8'): string {
  return (key.export({ format: 'der', type }) as Buffer).toString('base64url')
}
