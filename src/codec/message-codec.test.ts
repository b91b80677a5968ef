import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { isTesseraError } from '../errors/index.ts'
import { decodeEnvelope, type Envelope, encodeEnvelope } from './index.ts'

// fast-check prints the seed and the shrunk counterexample in the error it throws; a failing
// run is replayed with FC_SEED=<seed> (and FC_PATH=<path> to skip straight to the shrunk case).
const replay = {
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
  ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
}

// The codec's own msgpackr settings, to build well-formed but hostile messages.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  useBigIntExtension: false,
})

/** Decoding must give a message or a BAD_REQUEST; anything else is rethrown with what it was. */
function decodesOrRejects(bytes: Uint8Array): void {
  try {
    decodeEnvelope(bytes)
  } catch (err) {
    if (!isTesseraError(err, 'BAD_REQUEST'))
      throw new Error(`decoding [${[...bytes].join(',')}] threw ${String(err)}, not a BAD_REQUEST`, {
        cause: err,
      })
  }
}

// msgpack made of pieces that reach deep into the decoder: array and map headers, the kinds,
// 64-bit integers beyond 2^53 (decoded as bigint), floats, strings, nil; plus random bytes.
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => {
  const b = Buffer.alloc(9)
  b[0] = 0xcf
  b.writeBigUInt64BE(v, 1)
  return [...b]
})
const i64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => {
  const b = Buffer.alloc(9)
  b[0] = 0xd3
  b.writeBigInt64BE(v, 1)
  return [...b]
})
const piece = fc.oneof(
  fc.integer({ min: 0x90, max: 0x96 }).map((b) => [b]), // fixarray 0–6
  fc.integer({ min: 0x80, max: 0x83 }).map((b) => [b]), // fixmap 0–3
  fc.constantFrom(1, 2, 3, 4, 5, 16, 17, 18, 19, 20).map((b) => [b]), // the kinds
  u64,
  i64,
  fc.constant([0xc0]),
  fc.constantFrom([0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0], [0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]), // Infinity, NaN
  fc.string({ maxLength: 8 }).map((s) => [...packr.pack(s)]),
  fc.uint8Array({ minLength: 1, maxLength: 4 }).map((b) => [...b]),
)
const msgpackish = fc.array(piece, { maxLength: 12 }).map((ps) => Uint8Array.from(ps.flat()))

// Well-formed msgpack of any shape (bigints, huge and negative ints, nesting) packed by msgpackr.
const anyValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    fc.constantFrom(2 ** 53, -(2 ** 53), 2 ** 64, Number.MAX_VALUE, Infinity, -Infinity, NaN, -0),
    fc.integer(),
    fc.double(),
    fc.string({ maxLength: 8 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 }),
  ),
})).value
const anyMessage = fc
  .array(anyValue, { minLength: 1, maxLength: 6 })
  .chain((rest) =>
    fc.tuple(fc.oneof(anyValue, fc.constantFrom(1, 2, 3, 4, 5, 16, 17, 18, 19, 20)), fc.constant(rest)),
  )
  .map(([kind, rest]) => packr.pack([kind, ...rest]) as Uint8Array)

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
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), decodesOrRejects), { numRuns: 10_000, ...replay })
  })

  it('answers msgpack-like bytes (headers, kinds, 64-bit ints) with a message or a BAD_REQUEST', () => {
    fc.assert(fc.property(msgpackish, decodesOrRejects), { numRuns: 10_000, ...replay })
  })

  it('answers well-formed msgpack of any shape with a message or a BAD_REQUEST', () => {
    fc.assert(fc.property(anyMessage, decodesOrRejects), { numRuns: 5000, ...replay })
  })

  it('rejects a kind that is an int64 beyond 2^53 (decoded as bigint) with BAD_REQUEST', () => {
    // Found by the random-bytes property: [fixarray 1, int64 0x0020000000000001].
    const bytes = Uint8Array.from([145, 211, 0, 32, 0, 0, 0, 0, 0, 1])
    expect(() => decodeEnvelope(bytes)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }))
    expect(() => decodeEnvelope(bytes)).toThrow(/unknown kind 9007199254740993n/)
  })

  it.each([
    ['a uint64 kind beyond 2^53', [2n ** 64n - 1n, 1]],
    ['a negative int64 kind', [-(2n ** 63n), 1]],
    ['a bigint kind of a known value', [BigInt(Number.MAX_SAFE_INTEGER) + 2n]],
    ['a kind nesting a bigint in an array', [[1, [2n ** 60n]], 1]],
    ['a kind nesting a bigint in a map', [{ a: { b: 2n ** 62n } }, 1]],
    ['a huge float kind', [2 ** 64, 1]],
    ['a NaN kind', [Number.NaN]],
    ['a bigint id', [1, 2n ** 60n, 'svc', 'act', {}, null]],
    ['a bigint ping number', [19, 2n ** 60n]],
    ['a bigint in a node info', [16, { nodeId: 'n', seq: 2n ** 60n, services: [] }]],
    ['a bigint service name', [16, { nodeId: 'n', seq: 1, services: [{ name: 2n ** 60n, version: '1' }] }]],
  ])('rejects %s with BAD_REQUEST', (_what, tuple) => {
    expect(() => decodeEnvelope(packr.pack(tuple))).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }))
  })

  it('encodes a message whose payload getter encodes another message while it is being encoded', () => {
    const ctx = { requestId: 'r', traceparent: 't', timeout: 1 }
    let inner: Uint8Array | undefined
    const input = {
      before: 'a'.repeat(40),
      get nested() {
        inner = encodeEnvelope({ kind: 'cancel', id: 3 })
        return 'n'
      },
      after: [1, { b: 'c' }],
    }
    const outer = encodeEnvelope({ kind: 'request', id: 1, service: 's', action: 'a', ctx, input })
    expect(decodeEnvelope(inner!)).toEqual({ kind: 'cancel', id: 3 })
    expect(decodeEnvelope(outer)).toEqual({
      kind: 'request',
      id: 1,
      service: 's',
      action: 'a',
      ctx,
      input: { before: 'a'.repeat(40), nested: 'n', after: [1, { b: 'c' }] },
    })
  })

  it('carries a certificate on HELLO and (for NATS) on ANNOUNCE', () => {
    const info = { nodeId: 'orders-1', seq: 2, services: [] }
    const hello: Envelope = { kind: 'hello', info, auth: { certificate: 'c.s', nonce: 'n' } }
    const announce: Envelope = { kind: 'announce', info, auth: { certificate: 'c.s' } }
    for (const m of [hello, announce]) expect(decodeEnvelope(encodeEnvelope(m))).toEqual(m)
    expect(decodeEnvelope(encodeEnvelope({ kind: 'announce', info }))).toEqual({ kind: 'announce', info })
    const badAuth = packr.pack([17, info, { certificate: 7 }])
    expect(() => decodeEnvelope(badAuth)).toThrow(/auth.certificate/)
  })

  it('throws BAD_REQUEST for a message msgpack cannot encode', () => {
    expect(() => encodeEnvelope({ kind: 'response', id: 1, ok: true, output: 10n ** 30n })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST' }),
    )
  })
})

describe('decodeEnvelope of a range', () => {
  const request: Envelope = {
    kind: 'request',
    id: 9,
    service: 'echo',
    action: 'ping',
    ctx: {
      requestId: '0af7651916cd43dd8448eb211c80319c',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      timeout: 500,
    },
    input: { text: 'hello', n: 42, bytes: Buffer.from('xyz') },
  }

  it('decodes messages in place inside a larger buffer, as their own bytes would', () => {
    const one = Buffer.from(encodeEnvelope(request))
    const two = Buffer.from(encodeEnvelope({ kind: 'cancel', id: 4 }))
    const chunk = Buffer.concat([Buffer.from([0xc1, 0xc1]), one, two, Buffer.from([0xc1])])
    const first = decodeEnvelope(chunk, 2, 2 + one.length)
    expect(first).toEqual(decodeEnvelope(one))
    expect(decodeEnvelope(chunk, 2 + one.length, 2 + one.length + two.length)).toEqual({
      kind: 'cancel',
      id: 4,
    })
    // The first one again: nothing of the second read is left over.
    expect(decodeEnvelope(chunk, 2, 2 + one.length)).toEqual(first)
  })

  it('rejects a range holding more than one message, a cut message, and an empty range', () => {
    const one = Buffer.from(encodeEnvelope({ kind: 'cancel', id: 4 }))
    const chunk = Buffer.concat([Buffer.from([0]), one, one])
    const bad = expect.objectContaining({ code: 'BAD_REQUEST' })
    expect(() => decodeEnvelope(chunk, 1, 1 + 2 * one.length)).toThrow(bad)
    expect(() => decodeEnvelope(chunk, 1, one.length)).toThrow(bad)
    expect(() => decodeEnvelope(chunk, 1, 1)).toThrow(bad)
  })
})

describe('the once flag of a request (decision 0033)', () => {
  const ctx = {
    requestId: 'r',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    timeout: 100,
  }
  const plain = { kind: 'request' as const, id: 1, service: 's', action: 'a', input: null, ctx }

  it('keeps the 6-element form for a plain request, and carries once 1 or 2 as a 7th element', () => {
    expect(decodeEnvelope(encodeEnvelope(plain))).toEqual(plain)
    for (const once of [1, 2] as const) {
      expect(decodeEnvelope(encodeEnvelope({ ...plain, once }))).toEqual({ ...plain, once })
    }
  })

  it('rejects a 7th element that is not 1 or 2 with BAD_REQUEST', () => {
    for (const bad of [0, 3, 'x', null]) {
      const bytes = encodeEnvelope({ ...plain, once: bad as 1 })
      expect(() => decodeEnvelope(bytes)).toThrow(
        expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringContaining('once must be 1') }),
      )
    }
  })
})
