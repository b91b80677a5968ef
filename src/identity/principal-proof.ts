import { verify } from 'node:crypto'
import type { Principal } from '../context/index.ts'
import { type Identity, verifyCertificate } from './certificate.ts'
import type { LoadedCredential } from './credential.ts'

/**
 * A principal signed by the node that verified it (a gateway that checked the user's
 * token): `base64url(json).base64url(signature)`, the JSON holding the principal, an
 * expiry and the signer's certificate. It travels with every call made for that
 * principal, also on nested calls, so each callee can check it on its own: a service
 * can pass on a principal it was given but cannot make one up.
 */
export type PrincipalProof = string

const FORMAT = 'tessera-principal-v1'
/** How long a proof is valid; the gateway checks the user's token on every request anyway. */
const TTL_MS = 5 * 60_000
/** A cached proof is re-signed once less than this is left, so none expires mid-call. */
const RENEW_MS = 60_000
const MAX_CACHED = 10_000

interface ProofBody {
  p: Principal
  exp: number
  cert: string
}

/** Signs principals for a node whose certificate allows it; one signature per principal per few minutes. */
export interface PrincipalVoucher {
  vouch(principal: Principal): PrincipalProof
}

export function principalVoucher(
  credential: LoadedCredential,
  now: () => number = Date.now,
): PrincipalVoucher {
  const cache = new Map<string, { proof: PrincipalProof; exp: number }>()
  return {
    vouch(principal) {
      const key = JSON.stringify(principal)
      const t = now()
      const hit = cache.get(key)
      if (hit && hit.exp - t > RENEW_MS) return hit.proof
      const exp = t + TTL_MS
      const body: ProofBody = { p: principal, exp, cert: credential.certificate }
      const payload = Buffer.from(JSON.stringify(body)).toString('base64url')
      const proof = `${payload}.${credential.sign(Buffer.from(`${FORMAT}.${payload}`)).toString('base64url')}`
      if (cache.size >= MAX_CACHED) cache.clear()
      cache.set(key, { proof, exp })
      return proof
    },
  }
}

/** Checks principal proofs against the system's authority; results cached until they expire. */
export interface PrincipalVerifier {
  /** The principal a valid proof carries, or why the proof is refused. */
  check(proof: unknown): { principal: Principal; signer: Identity } | { refused: string }
}

export function principalVerifier(
  credential: LoadedCredential,
  now: () => number = Date.now,
): PrincipalVerifier {
  const cache = new Map<string, { principal: Principal; signer: Identity; exp: number }>()
  return {
    check(proof) {
      if (typeof proof !== 'string' || proof.length > 16_384) return { refused: 'no principal proof' }
      const t = now()
      const hit = cache.get(proof)
      if (hit) {
        if (hit.exp > t) return hit
        cache.delete(proof)
        return { refused: 'the principal proof has expired' }
      }
      const dot = proof.indexOf('.')
      let body: ProofBody
      try {
        body = JSON.parse(Buffer.from(proof.slice(0, dot), 'base64url').toString()) as ProofBody
      } catch {
        return { refused: 'a malformed principal proof' }
      }
      if (dot <= 0 || typeof body?.exp !== 'number' || typeof body.p?.id !== 'string') {
        return { refused: 'a malformed principal proof' }
      }
      if (body.exp <= t) return { refused: 'the principal proof has expired' }
      const cert = verifyCertificate(body.cert, credential.authority)
      if (!cert) return { refused: 'the principal proof is signed by no node of this system' }
      if (!cert.identity.assertsPrincipal) {
        return { refused: `${cert.identity.unit} may not assert principals` }
      }
      const signed = Buffer.from(`${FORMAT}.${proof.slice(0, dot)}`)
      if (!verify(null, signed, cert.key, Buffer.from(proof.slice(dot + 1), 'base64url'))) {
        return { refused: 'the principal proof does not verify' }
      }
      const result = { principal: body.p, signer: cert.identity, exp: body.exp }
      if (cache.size >= MAX_CACHED) cache.clear()
      cache.set(proof, result)
      return result
    },
  }
}
