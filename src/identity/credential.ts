import { createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto'
import { TesseraError } from '../errors/index.ts'
import { type Certificate, type Identity, verifyCertificate } from './certificate.ts'

/**
 * What the runtime hands a node so its peers can tell who it is: its certificate, its
 * private key, and the authority's public key to check other nodes' certificates with.
 * Plain strings, so it crosses an IPC channel as JSON. Never logged.
 */
export interface NodeCredential {
  certificate: Certificate
  /** The node's Ed25519 private key, PKCS#8 DER, base64url. */
  privateKey: string
  /** The authority's Ed25519 public key, SPKI DER, base64url. */
  authority: string
}

/** A credential ready to use: keys parsed, certificate checked once. */
export interface LoadedCredential {
  readonly identity: Identity
  readonly certificate: Certificate
  readonly authority: KeyObject
  /** Signs with the node's private key. */
  sign(data: Buffer): Buffer
}

/**
 * Parses a credential and checks that its certificate verifies with the authority it
 * names and matches its private key. Throws BAD_REQUEST otherwise, so a node never
 * starts with a credential its peers would refuse.
 */
export function loadCredential(credential: NodeCredential): LoadedCredential {
  let privateKey: KeyObject
  let authority: KeyObject
  try {
    privateKey = createPrivateKey({
      key: Buffer.from(credential.privateKey, 'base64url'),
      format: 'der',
      type: 'pkcs8',
    })
    authority = createPublicKey({
      key: Buffer.from(credential.authority, 'base64url'),
      format: 'der',
      type: 'spki',
    })
  } catch {
    throw new TesseraError(
      'BAD_REQUEST',
      'node credential: the private key or the authority key is malformed',
    )
  }
  const cert = verifyCertificate(credential.certificate, authority)
  if (!cert)
    throw new TesseraError(
      'BAD_REQUEST',
      'node credential: the certificate does not verify with its authority',
    )
  const own = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  if (!own.equals(cert.key.export({ format: 'der', type: 'spki' }))) {
    throw new TesseraError('BAD_REQUEST', 'node credential: the certificate was issued for another key')
  }
  return {
    identity: cert.identity,
    certificate: credential.certificate,
    authority,
    sign: (data) => sign(null, data, privateKey),
  }
}
