import { describe, expect, it } from 'vitest'
import { createAuthority } from './authority.ts'
import { loadCredential } from './credential.ts'
import { principalVerifier, principalVoucher } from './principal-proof.ts'

const authority = createAuthority()
const gateway = loadCredential(
  authority.issue({ node: 'gw-1', unit: 'gateway', services: [], assertsPrincipal: true }),
)
const orders = loadCredential(
  authority.issue({ node: 'orders-1', unit: 'orders', services: ['orders'], assertsPrincipal: false }),
)
const principal = { id: 'u-1', roles: ['customer'] }

describe('principal proofs', () => {
  it('verify when signed by a node that may assert principals, and cache by proof', () => {
    let now = 1_000
    const proof = principalVoucher(gateway, () => now).vouch(principal)
    const verifier = principalVerifier(orders, () => now)
    expect(verifier.check(proof)).toMatchObject({ principal, signer: { unit: 'gateway' } })
    now += 4 * 60_000
    expect(verifier.check(proof)).toMatchObject({ principal })
    now += 2 * 60_000
    expect(verifier.check(proof)).toEqual({ refused: 'the principal proof has expired' })
  })

  it('re-signs a cached principal before it expires', () => {
    let now = 0
    const voucher = principalVoucher(gateway, () => now)
    const first = voucher.vouch(principal)
    now = 3 * 60_000
    expect(voucher.vouch(principal)).toBe(first)
    now = 4.5 * 60_000
    expect(voucher.vouch(principal)).not.toBe(first)
  })

  it('refuse a proof by a node that may not assert principals', () => {
    const proof = principalVoucher(orders).vouch(principal)
    expect(principalVerifier(gateway).check(proof)).toEqual({ refused: 'orders may not assert principals' })
  })

  it('refuse a proof whose principal was changed after signing', () => {
    const proof = principalVoucher(gateway).vouch(principal)
    const [payload, signature] = proof.split('.') as [string, string]
    const body = JSON.parse(Buffer.from(payload, 'base64url').toString())
    body.p.roles = ['admin']
    const forged = `${Buffer.from(JSON.stringify(body)).toString('base64url')}.${signature}`
    expect(principalVerifier(orders).check(forged)).toEqual({
      refused: 'the principal proof does not verify',
    })
  })

  it('refuse a proof signed under another authority, and garbage', () => {
    const other = createAuthority()
    const stranger = loadCredential(
      other.issue({ node: 'gw-9', unit: 'gateway', services: [], assertsPrincipal: true }),
    )
    const verifier = principalVerifier(orders)
    expect(verifier.check(principalVoucher(stranger).vouch(principal))).toEqual({
      refused: 'the principal proof is signed by no node of this system',
    })
    expect(verifier.check('nonsense')).toEqual({ refused: 'a malformed principal proof' })
    expect(verifier.check(42)).toEqual({ refused: 'no principal proof' })
  })
})
