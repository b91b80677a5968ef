import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { FastReader, FastWriter, UNSUPPORTED } from './fast-msgpack.ts'

// The codec's own msgpackr settings: the fast path must agree with it byte for byte.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  int64AsType: 'auto' as 'bigint',
})

const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.double(),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.string({ unit: 'grapheme', minLength: 20, maxLength: 400 }),
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 10 }), tie('value'), { maxKeys: 20 }),
  ),
})).value

function write(value: unknown): Buffer {
  const w = new FastWriter()
  w.begin()
  w.value(value)
  return Buffer.from(w.finish())
}

function read(bytes: Uint8Array): unknown {
  const r = new FastReader()
  r.reset(bytes)
  const v = r.value()
  if (r.pos !== r.end) throw UNSUPPORTED
  return v
}

describe('fast msgpack path', () => {
  it('writes exactly the bytes msgpackr writes', () => {
    fc.assert(
      fc.property(plain, (v) => {
        let fast: Buffer
        try {
          fast = write(v)
        } catch (err) {
          // e.g. a null-prototype object (fast-check makes one for a '__proto__' key): msgpackr's turn.
          expect(err).toBe(UNSUPPORTED)
          return
        }
        expect(fast.toString('hex')).toBe(Buffer.from(packr.pack(v)).toString('hex'))
      }),
      { numRuns: 1000 },
    )
  })

  it('reads what msgpackr reads', () => {
    fc.assert(
      fc.property(plain, (v) => {
        const bytes = packr.pack(v)
        expect(read(bytes)).toStrictEqual(packr.unpack(bytes))
      }),
      { numRuns: 1000 },
    )
  })

  it('on random bytes reads what msgpackr reads, or leaves them to msgpackr', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => {
        let fast: unknown
        try {
          fast = read(bytes)
        } catch (err) {
          expect(err).toBe(UNSUPPORTED)
          return
        }
        expect(fast).toStrictEqual(packr.unpack(bytes))
      }),
      { numRuns: 5000 },
    )
  })

  it('leaves what it cannot write to msgpackr', () => {
    for (const v of [undefined, 1n, new Map(), new Date(0), new Uint8Array(2), { a: undefined }, [() => 1]]) {
      expect(() => write(v)).toThrow()
    }
  })

  it('spans chunks: a message bigger than one chunk, and many messages, stay intact', () => {
    const w = new FastWriter()
    const big = 'x'.repeat(200_000)
    const views: Array<[Buffer, unknown]> = []
    for (let i = 0; i < 2000; i++) {
      const v = i % 500 === 0 ? { big, i } : { i, s: 'hello' }
      w.begin()
      w.value(v)
      views.push([w.finish(), v])
    }
    for (const [bytes, v] of views) expect(packr.unpack(bytes)).toStrictEqual(v)
  })
})
