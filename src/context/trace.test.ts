import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { childSpan, formatTraceparent, newTrace, parseTraceparent, randomHex } from './trace.ts'

/** The rule as the W3C text states it, the slow way: what the fast path must agree with. */
function reference(header: string): { traceId: string; spanId: string; flags: number } | undefined {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(header.trim().toLowerCase())
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined
  return { traceId: m[1]!, spanId: m[2]!, flags: Number.parseInt(m[3]!, 16) }
}

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${n}}$`))

describe('traceparent', () => {
  it('round-trips what it formats, flags included', () => {
    for (const flags of [0, 1, 0x0f, 0xff]) {
      const trace = { ...newTrace(), flags }
      expect(parseTraceparent(formatTraceparent(trace))).toEqual(trace)
    }
    const child = childSpan(newTrace())
    expect(parseTraceparent(formatTraceparent(child))).toEqual(child)
  })

  it('keeps the tracestate it is given', () => {
    const header = formatTraceparent(newTrace())
    expect(parseTraceparent(header, 'vendor=1')?.state).toBe('vendor=1')
  })

  it('refuses all-zero ids, other versions, wrong lengths and separators', () => {
    const t = 'a'.repeat(32)
    const s = 'b'.repeat(16)
    for (const bad of [
      `00-${'0'.repeat(32)}-${s}-01`,
      `00-${t}-${'0'.repeat(16)}-01`,
      `01-${t}-${s}-01`,
      `ff-${t}-${s}-01`,
      `00-${t}-${s}-1`,
      `00-${t}-${s}-011`,
      `00_${t}-${s}-01`,
      `00-${t}-${s}-0g`,
      '',
    ])
      expect(parseTraceparent(bad)).toBeUndefined()
  })

  it('agrees with the regular-expression rule on near-valid and arbitrary headers', () => {
    const nearValid = fc
      .tuple(
        fc.constantFrom('00', '01', 'ff', '0A'),
        hex(32),
        hex(16),
        hex(2),
        fc.constantFrom('', ' ', '\t'),
      )
      .map(([v, t, s, f, pad]) => `${pad}${v}-${t}-${s}-${f}${pad}`)
    fc.assert(
      fc.property(fc.oneof(nearValid, fc.string({ maxLength: 60 })), (header) => {
        const got = parseTraceparent(header)
        expect(got === undefined ? undefined : { ...got }).toEqual(reference(header))
      }),
      { numRuns: 2_000 },
    )
  })

  it('agrees with the rule when one digit of a valid header is any other character', () => {
    const valid = `00-${'3'.repeat(32)}-${'c'.repeat(16)}-01`
    const digitAt = fc.integer({ min: 3, max: 54 }).filter((i) => i !== 35 && i !== 52)
    // Code points whose low 7 bits are a hex digit ('á' is 0xE1: 0x61 is 'a') included.
    const other = fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.constantFrom('á', 'ã', '°', '±', '\u0130', 'A', 'G', ' '),
    )
    fc.assert(
      fc.property(digitAt, other, (i, c) => {
        const header = valid.slice(0, i) + c + valid.slice(i + 1)
        const got = parseTraceparent(header)
        expect(got === undefined ? undefined : { ...got }).toEqual(reference(header))
      }),
      { numRuns: 3_000 },
    )
  })
})

describe('random ids', () => {
  it('are lower-case hex of the asked length, distinct, every digit about as common, across pool refills', () => {
    const ids = Array.from({ length: 6_000 }, () => randomHex(16)) // 96 KB: several refills of the pool
    expect(ids.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
    const counts = new Map<string, number>()
    for (const id of ids) for (const c of id) counts.set(c, (counts.get(c) ?? 0) + 1)
    expect(counts.size).toBe(16)
    // 192 000 digits, 12 000 of each expected; a wrong table would skew some by far more than 5 %.
    for (const n of counts.values()) expect(Math.abs(n - 12_000)).toBeLessThan(600)
    // The two digits of a byte are not tied to each other: every pair occurs.
    const pairs = new Set(ids.flatMap((id) => id.match(/../g)!))
    expect(pairs.size).toBe(256)
  })
})
