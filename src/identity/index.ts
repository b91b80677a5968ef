export { type Authority, authorityKey, createAuthority } from './authority.ts'
export {
  type Certificate,
  type Identity,
  mayHost,
  type VerifiedCertificate,
  verifyCertificate,
} from './certificate.ts'
export { type LoadedCredential, loadCredential, type NodeCredential } from './credential.ts'
export {
  credentialFromDelegation,
  delegateUnit,
  encodeDelegation,
  parseDelegation,
  type UnitDelegation,
} from './delegation.ts'
export { checkPeerProof, createNonce, proveIdentity } from './handshake-proof.ts'
export {
  type PrincipalProof,
  type PrincipalVerifier,
  type PrincipalVoucher,
  principalVerifier,
  principalVoucher,
} from './principal-proof.ts'
