import { describe, expect, it } from 'vitest'
import { isTesseraError } from '../../errors/index.ts'
import { natsSubjects, nodeIdOf, nodeToken } from './subjects.ts'

describe('natsSubjects', () => {
  it('addresses a peer by target, then sender', () => {
    const s = natsSubjects('shop', 'node-1')
    expect(s.toPeer(nodeToken('node-2'))).toBe('tessera.shop.node.node-2.node-1')
    expect(s.replyFor(nodeToken('node-2'))).toBe('tessera.shop.nr.node-1.node-2')
    expect(s.inbox).toBe('tessera.shop.node.node-1.*')
    expect(s.ownDiscovery).toBe('tessera.shop.discovery.node-1')
  })

  it('rejects a namespace that is not one plain token', () => {
    for (const ns of ['', 'a.b', 'a b', '*', '>']) {
      let thrown: unknown
      try {
        natsSubjects(ns, 'n')
      } catch (err) {
        thrown = err
      }
      expect(isTesseraError(thrown, 'BAD_REQUEST')).toBe(true)
    }
  })
})

describe('nodeToken', () => {
  it('keeps plain ids as they are', () => {
    expect(nodeToken('api-7f3a_1')).toBe('api-7f3a_1')
  })

  it('escapes dots, wildcards, spaces and non-ASCII reversibly', () => {
    for (const id of ['host.example.com-12', 'a*b>c', 'with space', 'üñí', '100%', '']) {
      const token = nodeToken(id)
      expect(token).toMatch(/^[A-Za-z0-9_%-]+$/)
      expect(nodeIdOf(token)).toBe(id)
    }
  })

  it('refuses tokens it did not make', () => {
    expect(nodeIdOf('%zz')).toBeUndefined()
    expect(nodeIdOf('')).toBeUndefined()
  })
})
