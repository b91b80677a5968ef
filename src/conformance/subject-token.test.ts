import { describe, expect, it } from 'vitest'
import { nodeToken } from '../transport/nats/index.ts'
import { formatResult } from './rule-result.ts'
import { subjectToken } from './subject-token.ts'

describe('subjectToken (docs/protocol.md §6.1)', () => {
  it('keeps [A-Za-z0-9_-] and escapes every other UTF-8 byte in upper-case hex', () => {
    expect(subjectToken('node-1_A')).toBe('node-1_A')
    expect(subjectToken('py+1')).toBe('py%2B1')
    expect(subjectToken('host.example.com')).toBe('host%2Eexample%2Ecom')
    expect(subjectToken('a b*>é')).toBe('a%20b%2A%3E%C3%A9')
    expect(subjectToken('%')).toBe('%25')
    expect(subjectToken('')).toBe('%')
  })

  it('agrees with the NATS transport for ids that need escaping', () => {
    for (const id of ['py+1', 'conf node.1+*>é', '', '%41', '~!@#$^&()=[]{}|\\;:\'",<>/?`', '日本', 'x\ny'])
      expect(subjectToken(id)).toBe(nodeToken(id))
  })
})

describe('formatResult', () => {
  it('prints one line: verdict, section, rule, detail', () => {
    expect(formatResult({ rule: 'subject-escaping', section: '§6.1', ok: false, detail: 'py+1' })).toBe(
      'FAIL §6.1   subject-escaping — py+1',
    )
    expect(formatResult({ rule: 'hello-first', section: '§4.1', ok: true, detail: '' })).toBe(
      'PASS §4.1   hello-first',
    )
  })
})
