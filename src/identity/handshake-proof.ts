import { randomBytes, verify } from 'node:crypto'
import { type Identity, verifyCertificate } from './certificate.ts'
import type { LoadedCredential } from './credential.ts'

/**
 * Proof of holding a certificate's key on one connection. Each side sends a fresh nonce
 * with its HELLO and answers the other's nonce with a signature over it and both node
 * ids, so a proof cannot be replayed on another connection or towards another node.
 */
const FORMAT = 'tessera-hello-v1'

/** A fresh, unguessable nonce for one connection. */
export function createNonce(): string {
  return randomBytes(18).toString('base64url')
}

/** The proof `from` sends `to` for the nonce `to` chose. */
export function proveIdentity(
  credential: LoadedCredential,
  peerNonce: string,
  from: string,
  to: string,
): string {
  return credential.sign(message(peerNonce, from, to)).toString('base64url')
}

/**
 * Checks a peer's certificate and its proof for our nonce. Returns the peer's identity,
 * or why it is refused (a reason for the log; the peer learns nothing more than that it
 * was refused).
 */
export function checkPeerProof(
  credential: LoadedCredential,
  peer: { nodeId: string; certificate: unknown; proof: unknown },
  ownNonce: string,
): { identity: Identity } | { refused: string } {
  const cert = verifyCertificate(peer.certificate, credential.authority)
  if (!cert) return { refused: 'no valid certificate from this system' }
  if (cert.identity.node !== peer.nodeId) {
    return { refused: `certificate issued to ${cert.identity.node}, presented by ${peer.nodeId}` }
  }
  if (typeof peer.proof !== 'string' || peer.proof.length > 200)
    return { refused: 'no proof of the certificate key' }
  const ok = verify(
    null,
    message(ownNonce, peer.nodeId, credential.identity.node),
    cert.key,
    Buffer.from(peer.proof, 'base64url'),
  )
  return ok ? { identity: cert.identity } : { refused: 'the proof does not match the certificate key' }
}

function message(nonce: string, from: string, to: string): Buffer {
  return Buffer.from(`${FORMAT}|${nonce}|${from}|${to}`)
}
