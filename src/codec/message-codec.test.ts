import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isTesseraError } from '../errors/index.ts'
import { decodeEnvelope, type Envelope, encodeEnvelope } from './index.ts'

// Plain JSON data (no -0, no undefined); '__proto__' keys are renamed by msgpackr on purpose.
const json = fc
  .jsonValue()
  .map((v) => JSON.parse(JSON.stringify(v), (k, val) => (k === '__proto__' ? undefined : val)) as unknown)
const ctx = fc.record(
  {
    requestId: fc.string(),
    traceparent: fc.string(),
    timeout: fc.integer({ min: 0, max: 1e9 }),
    caller: fc.string(),
    // '__proto__' keys are renamed on decoding (see `json`), so they cannot round-trip.
    meta: fc.dictionary(
      fc.string().filter((k) => k !== '__proto__'),
      fc.string(),
    ),
  },
  { requiredKeys: ['requestId', 'traceparent', 'timeout'] },
)
const id = fc.nat()
const message: fc.Arbitrary<Envelope> = fc.oneof(
  fc.record({
    kind: fc.constant('request'),
    id,
    service: fc.string(),
    action: fc.string(),
    input: json,
    ctx,
  }),
  fc.record({ kind: fc.constant('response'), id, ok: fc.constant(true), output: json }),
  fc.record({
    kind: fc.constant('event'),
    event: fc.string(),
    payload: json,
    groups: fc.array(fc.string()),
    ctx,
  }),
  fc.record({ kind: fc.constant('cancel'), id }),
  fc.record({ kind: fc.constantFrom('ping', 'pong'), n: fc.integer() }),
  fc.record({ kind: fc.constant('bye'), nodeId: fc.string() }),
) as fc.Arbitrary<Envelope>

describe('message codec', () => {
  it('decodes whatever it encodes to an equal message', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeEnvelope(encodeEnvelope(m))).toEqual(m)
      }),
      { numRuns: 300 },
    )
  })

  it('answers random bytes with a message or a BAD_REQUEST, never another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeEnvelope(bytes)
        } catch (err) {
          expect(isTesseraError(err, 'BAD_REQUEST')).toBe(true)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('throws BAD_REQUEST for a message msgpack cannot encode', () => {
    expect(() => encodeEnvelope({ kind: 'response', id: 1, ok: true, output: 10n ** 30n })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST' }),
    )
  })
})
