import { type TSchema, Type } from '@sinclair/typebox'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileValidator } from '../contract/index.ts'
import { createSchemaCompiler } from './schema-validator.ts'

// The gateway checks inputs against the JSON Schema a service announced; the service
// checks them again with its TypeBox validator. Both must agree on every value, or an
// input passes the gateway and fails in the service (or the other way round): a name of
// 100 emoji was 100 characters to one and 200 to the other.
const gateway = createSchemaCompiler()
const agree = (schema: TSchema, value: unknown) => {
  const service = compileValidator(schema).check(value)
  let edge = true
  try {
    gateway.compile(JSON.parse(JSON.stringify(schema)))(value)
  } catch {
    edge = false
  }
  return { edge, service }
}

const text = fc.string({
  unit: fc.constantFrom('a', 'é', '😀', '\u{10FFFF}', '\uD83D', ' ', '.', 'Z'),
  maxLength: 12,
})

describe('gateway and service validation', () => {
  it('count string length in the same units (UTF-16 code units, as JavaScript does)', () => {
    const name = Type.String({ minLength: 1, maxLength: 100 })
    expect(agree(name, '😀'.repeat(100))).toEqual({ edge: false, service: false })
    expect(agree(name, '😀'.repeat(50))).toEqual({ edge: true, service: true })
  })

  it('agree on length bounds and patterns for any string', () => {
    fc.assert(
      fc.property(text, fc.nat(8), fc.nat(8), (value, min, extra) => {
        const schema = Type.String({ minLength: min, maxLength: min + extra, pattern: '^.{0,6}$' })
        const { edge, service } = agree(schema, value)
        expect(edge).toBe(service)
      }),
      { numRuns: 2_000 },
    )
  })
})
