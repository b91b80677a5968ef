import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { TesseraError } from '../errors/index.ts'
import { CHAIN_SEPARATOR, encodeCertificate, type Identity } from './certificate.ts'
import { loadCredential, type NodeCredential } from './credential.ts'

/**
 * A unit's right to issue its own nodes' certificates, for instances that start without
 * a supervisor to hand them one (a pod: decision 0031). The authority signs a delegation
 * for one identity (unit, services, principal right; any node id); an instance holding it
 * makes a key pair at start and signs its own certificate for its node id with the
 * delegation's key. Peers accept the chain `delegation~node` only when the node's
 * certificate names exactly the delegation's identity, so a unit's delegation can only
 * ever make nodes of that unit. Plain strings: it goes in a Secret as one value.
 */
export interface UnitDelegation {
  /** The authority-signed delegation (a certificate with `delegate: true`, node `*`). */
  certificate: string
  /** The delegation's Ed25519 private key, PKCS#8 DER, base64url. */
  privateKey: string
  /** The authority's Ed25519 public key, SPKI DER, base64url. */
  authority: string
}

/**
 * A delegation for `identity` (its `node` is ignored: the delegation names `*`), signed
 * with the authority's private key (PKCS#8 DER, base64url, as `authorityKey()` makes).
 * Throws TypeError for a key that is not an Ed25519 private key.
 *
 * @example
 * const key = authorityKey()
 * const orders = delegateUnit(key, { unit: 'orders', services: ['orders'], assertsPrincipal: false })
 */
export function delegateUnit(authorityPrivateKey: string, identity: Omit<Identity, 'node'>): UnitDelegation {
  const authority = createPrivateKey({
    key: Buffer.from(authorityPrivateKey, 'base64url'),
    format: 'der',
    type: 'pkcs8',
  })
  if (authority.asymmetricKeyType !== 'ed25519')
    throw new TypeError('an authority key must be an Ed25519 private key')
  const pair = generateKeyPairSync('ed25519')
  const certificate = encodeCertificate(
    {
      ...rightsOf(identity),
      node: '*',
      key: der(pair.publicKey, 'spki'),
      iat: Date.now(),
      delegate: true,
    },
    (data) => sign(null, data, authority),
  )
  return {
    certificate,
    privateKey: der(pair.privateKey, 'pkcs8'),
    authority: der(createPublicKey(authority), 'spki'),
  }
}

/**
 * The credential of node `nodeId` of the delegation's unit: a fresh key pair and the
 * chained certificate. Throws BAD_REQUEST when the delegation is malformed or does not
 * verify with the authority it names (a Secret of another system, or a damaged one).
 */
export function credentialFromDelegation(delegation: UnitDelegation, nodeId: string): NodeCredential {
  let key: KeyObject
  let rights: Omit<Identity, 'node'>
  try {
    key = createPrivateKey({
      key: Buffer.from(delegation.privateKey, 'base64url'),
      format: 'der',
      type: 'pkcs8',
    })
    const payload = delegation.certificate.slice(0, delegation.certificate.indexOf('.'))
    rights = rightsOf(JSON.parse(Buffer.from(payload, 'base64url').toString()) as Identity)
  } catch {
    throw new TesseraError('BAD_REQUEST', 'unit delegation: the private key or the certificate is malformed')
  }
  const pair = generateKeyPairSync('ed25519')
  const node = encodeCertificate(
    { ...rights, node: nodeId, key: der(pair.publicKey, 'spki'), iat: Date.now() },
    (data) => sign(null, data, key),
  )
  const credential = {
    certificate: `${delegation.certificate}${CHAIN_SEPARATOR}${node}`,
    privateKey: der(pair.privateKey, 'pkcs8'),
    authority: delegation.authority,
  }
  // As every peer will check it (BAD_REQUEST when the chain does not verify with its authority).
  loadCredential(credential)
  return credential
}

/** The delegation as one Secret value (base64url JSON), and back; `parseDelegation` throws BAD_REQUEST on anything else. */
export function encodeDelegation(delegation: UnitDelegation): string {
  return Buffer.from(JSON.stringify(delegation)).toString('base64url')
}

export function parseDelegation(text: string): UnitDelegation {
  try {
    const d = JSON.parse(Buffer.from(text, 'base64url').toString()) as Partial<UnitDelegation>
    if (
      typeof d.certificate === 'string' &&
      typeof d.privateKey === 'string' &&
      typeof d.authority === 'string'
    )
      return { certificate: d.certificate, privateKey: d.privateKey, authority: d.authority }
  } catch {}
  throw new TesseraError('BAD_REQUEST', 'unit delegation: not the value `tessera build secrets` writes')
}

function rightsOf(identity: Omit<Identity, 'node'>): Omit<Identity, 'node'> {
  return {
    unit: identity.unit,
    services: [...identity.services],
    assertsPrincipal: identity.assertsPrincipal,
    ...(identity.hostsAnyExcept ? { hostsAnyExcept: [...identity.hostsAnyExcept] } : {}),
  }
}

function der(key: KeyObject, type: 'spki' | 'pkcs8'): string {
  return (key.export({ format: 'der', type }) as Buffer).toString('base64url')
}
