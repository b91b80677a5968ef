import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { authorityKey, createAuthority } from './authority.ts'
import { CHAIN_SEPARATOR, encodeCertificate, verifyCertificate } from './certificate.ts'
import { loadCredential } from './credential.ts'
import { credentialFromDelegation, delegateUnit, encodeDelegation, parseDelegation } from './delegation.ts'

const key = authorityKey()
const orders = { unit: 'orders', services: ['orders'], assertsPrincipal: false }

describe('unit delegations', () => {
  it('let an instance make its own credential that peers of the system accept, for any node id', () => {
    const delegation = parseDelegation(encodeDelegation(delegateUnit(key, orders)))
    const a = loadCredential(credentialFromDelegation(delegation, 'orders-pod-a'))
    const b = credentialFromDelegation(delegation, 'orders-pod-b')
    // A supervisor-issued node of the same authority checks the chained certificate.
    const peer = loadCredential(
      createAuthority(key).issue({ node: 'users-1', ...orders, unit: 'users', services: ['users'] }),
    )
    expect(verifyCertificate(b.certificate, peer.authority)?.identity).toEqual({
      node: 'orders-pod-b',
      ...orders,
    })
    expect(a.identity.node).toBe('orders-pod-a')
    // Each node has its own key.
    expect(b.privateKey).not.toBe(credentialFromDelegation(delegation, 'orders-pod-b').privateKey)
  })

  it('refuses a chain from another authority, a delegation alone, and a node widened beyond its delegation', () => {
    const delegation = delegateUnit(key, orders)
    const ours = loadCredential(createAuthority(key).issue({ node: 'x', ...orders })).authority
    const foreign = credentialFromDelegation(delegateUnit(authorityKey(), orders), 'orders-1')
    expect(verifyCertificate(foreign.certificate, ours)).toBeUndefined()
    expect(verifyCertificate(delegation.certificate, ours)).toBeUndefined()
    // The holder of orders' delegation signs a node claiming users too: the chain is refused.
    const delegationKey = createPrivateKey({
      key: Buffer.from(delegation.privateKey, 'base64url'),
      format: 'der',
      type: 'pkcs8',
    })
    const node = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' })
    const widened = encodeCertificate(
      { ...orders, services: ['orders', 'users'], node: 'orders-1', key: node.toString('base64url'), iat: 0 },
      (data) => sign(null, data, delegationKey),
    )
    expect(verifyCertificate(`${delegation.certificate}${CHAIN_SEPARATOR}${widened}`, ours)).toBeUndefined()
    const fair = encodeCertificate(
      { ...orders, node: 'orders-1', key: node.toString('base64url'), iat: 0 },
      (data) => sign(null, data, delegationKey),
    )
    expect(verifyCertificate(`${delegation.certificate}${CHAIN_SEPARATOR}${fair}`, ours)?.identity.node).toBe(
      'orders-1',
    )
    // A delegation cannot delegate again: a chain of three is no certificate.
    expect(
      verifyCertificate(`${delegation.certificate}${CHAIN_SEPARATOR}${fair}${CHAIN_SEPARATOR}${fair}`, ours),
    ).toBeUndefined()
  })

  it('rejects a value that is not a delegation', () => {
    expect(() => parseDelegation('not-json')).toThrow(/tessera build secrets/)
  })
})
