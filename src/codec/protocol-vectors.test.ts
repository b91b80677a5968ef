import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { decodeEnvelope, type Envelope, encodeEnvelope } from './index.ts'

// Byte-level vectors shared with implementations in other languages (docs/protocol.md).
const dir = new URL('../../test/protocol-vectors/', import.meta.url)
const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'invalid.json')

interface Vector {
  description: string
  frame: string
  message: Envelope
}

function load<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as T
}

describe('protocol vectors', () => {
  it('covers every message kind', () => {
    const kinds = new Set(files.map((f) => load<Vector>(f).message.kind))
    expect([...kinds].sort()).toEqual([
      'announce',
      'bye',
      'cancel',
      'event',
      'hello',
      'ping',
      'pong',
      'proof',
      'request',
      'response',
    ])
  })

  describe.each(files)('%s', (file) => {
    const v = load<Vector>(file)
    const frame = Buffer.from(v.frame, 'hex')

    it('has a length prefix equal to the body length', () => {
      expect(frame.readUInt32BE(0)).toBe(frame.length - 4)
    })

    it('encodes the message to exactly these bytes', () => {
      expect(Buffer.from(encodeEnvelope(v.message)).toString('hex')).toBe(v.frame.slice(8))
    })

    it('decodes these bytes to exactly the message', () => {
      expect(decodeEnvelope(frame.subarray(4))).toEqual(v.message)
    })
  })

  const invalid = load<{ cases: Array<{ description: string; body: string; error: string }> }>('invalid.json')
  it.each(invalid.cases)('rejects $description with BAD_REQUEST', ({ body, error }) => {
    expect(() => decodeEnvelope(Buffer.from(body, 'hex'))).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringContaining(error) }),
    )
  })

  it('accepts 64-bit integer encodings of small ids (peers whose encoders always use them)', () => {
    expect(decodeEnvelope(Buffer.from('9205cf0000000000000007', 'hex'))).toEqual({ kind: 'cancel', id: 7 })
    expect(decodeEnvelope(Buffer.from('9205d30000000000000007', 'hex'))).toEqual({ kind: 'cancel', id: 7 })
  })
})
