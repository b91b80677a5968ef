import type { Principal } from '../context/index.ts'

/**
 * The signed proof that came with (or was made for) a principal, keyed by the principal
 * object: nested calls pass the same object on, so they forward the same proof without
 * any field in the call pipeline. A WeakMap, so a principal's proof goes with it.
 */
const proofs = new WeakMap<Principal, string>()

export function principalProofOf(principal: Principal | undefined): string | undefined {
  return principal ? proofs.get(principal) : undefined
}

export function attachPrincipalProof(principal: Principal, proof: string): void {
  proofs.set(principal, proof)
}
