import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
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
 *
 * @example
 * const authority = createAuthority()
 * const credential = authority.issue({ node: 'orders-1', unit: 'orders', services: ['orders'], assertsPrincipal: false })
 */
export function createAuthority(): Authority {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
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

function der(key: KeyObject, type: 'spki' | 'pkcs8'): string {
  return (key.export({ format: 'der', type }) as Buffer).toString('base64url')
}
