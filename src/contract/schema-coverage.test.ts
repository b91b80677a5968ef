import { Type as T, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { schemaCoverage } from './schema-coverage.ts'

/** Announced schemas cross the wire as JSON: compare what arrives, not TypeBox's objects. */
const json = (s: TSchema) => JSON.parse(JSON.stringify(s)) as unknown
const reasons = (wide: TSchema, narrow: TSchema) =>
  schemaCoverage(json(wide), json(narrow), 'input').map((p) => `${p.path}: ${p.reason}`)

describe('schemaCoverage', () => {
  const before = T.Object({ id: T.String({ maxLength: 64 }), qty: T.Integer({ minimum: 1 }) })

  it('proves the changes callers cannot notice', () => {
    // Input: the new schema must take everything the old one took.
    expect(
      reasons(
        T.Object({
          id: T.String({ maxLength: 64 }),
          qty: T.Integer({ minimum: 1 }),
          note: T.Optional(T.String()),
        }),
        before,
      ),
    ).toEqual([])
    expect(
      reasons(T.Object({ id: T.String({ maxLength: 128 }), qty: T.Number({ minimum: 0 }) }), before),
    ).toEqual([])
    expect(
      reasons(T.Object({ id: T.Union([T.String({ maxLength: 64 }), T.Number()]), qty: T.Integer() }), before),
    ).toEqual([])
    expect(
      reasons(
        T.Union([T.Literal('a'), T.Literal('b'), T.Literal('c')]),
        T.Union([T.Literal('a'), T.Literal('b')]),
      ),
    ).toEqual([])
    expect(reasons(T.String(), T.Union([T.Literal('a'), T.Literal('b')]))).toEqual([])
    expect(reasons(T.Unknown(), before)).toEqual([])
    expect(
      reasons(
        T.Object({ tags: T.Record(T.String(), T.Number()) }),
        T.Object({ tags: T.Record(T.String(), T.Integer()) }),
      ),
    ).toEqual([])
  })

  it('names each change that can break, with its path', () => {
    expect(
      reasons(
        T.Object({ id: T.String({ maxLength: 64 }), qty: T.Integer({ minimum: 1 }), email: T.String() }),
        before,
      ),
    ).toEqual(['input.email: now required, was absent'])
    expect(
      reasons(T.Object({ id: T.String({ maxLength: 20 }), qty: T.Integer({ minimum: 2 }) }), before),
    ).toEqual(['input.id: maxLength 20, was 64', 'input.qty: lower bound ≥ 2, was ≥ 1'])
    expect(reasons(T.Object({ id: T.Number(), qty: T.Integer({ minimum: 1 }) }), before)).toEqual([
      'input.id: type number, was string',
    ])
    expect(
      reasons(
        T.Object(
          { id: T.String({ maxLength: 64 }), qty: T.Integer({ minimum: 1 }) },
          { additionalProperties: false },
        ),
        T.Object({
          id: T.String({ maxLength: 64 }),
          qty: T.Integer({ minimum: 1 }),
          x: T.Optional(T.Boolean()),
        }),
      ),
    ).toEqual(['input.x: no longer accepted'])
    expect(reasons(T.Union([T.Literal('a')]), T.Union([T.Literal('a'), T.Literal('b')]))).toEqual([
      'input: "b" is no longer accepted',
    ])
    expect(reasons(T.Array(T.String(), { maxItems: 3 }), T.Array(T.String()))).toEqual([
      'input: maxItems 3, was none',
    ])
    expect(reasons(T.Array(T.Integer()), T.Array(T.Number()))).toEqual(['input[]: type integer, was number'])
  })

  it('refuses what it cannot compare rather than passing it', () => {
    const ref = { $ref: '#/definitions/x' }
    expect(schemaCoverage(ref, { type: 'string' }, 'input')[0]?.reason).toMatch(/not proven safe/)
    expect(schemaCoverage({ not: { type: 'string' } }, { type: 'number' }, 'input')[0]?.reason).toMatch(
      /not proven safe/,
    )
    // The same unknown schema on both sides is no change at all.
    expect(schemaCoverage(ref, ref, 'input')).toEqual([])
  })

  it('is sound: whenever it finds no problem, every value of the narrow schema passes the wide one', () => {
    let proven = 0
    fc.assert(
      fc.property(schema, schema, fc.integer({ min: 0, max: 2 ** 31 }), (wide, narrow, seed) => {
        if (schemaCoverage(json(wide), json(narrow), 'x').length > 0) return
        proven++
        fc.assert(
          fc.property(valuesOf(narrow), (v) => {
            expect(Value.Check(narrow, v)).toBe(true) // the generator is right
            expect(Value.Check(wide, v)).toBe(true)
          }),
          { numRuns: 20, seed },
        )
      }),
      // A fixed seed: the count below must not depend on luck (about 4 % of random pairs are proven).
      { numRuns: 4_000, seed: 20261202 },
    )
    // Enough pairs were proven compatible for the check above to mean something.
    expect(proven).toBeGreaterThan(100)
  })
})

// Schemas over a small space (few names, few bounds), so random pairs are often comparable.
const bound = fc.constantFrom(undefined, 0, 1, 2, 3)
const opts = (o: Record<string, number | undefined>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Record<string, number>
const leaf: fc.Arbitrary<TSchema> = fc.oneof(
  fc
    .tuple(bound, bound)
    .map(([a, b]) => T.String(opts({ minLength: a, maxLength: b === undefined ? b : (a ?? 0) + b }))),
  fc
    .tuple(bound, bound)
    .map(([a, b]) => T.Integer(opts({ minimum: a, maximum: b === undefined ? b : (a ?? 0) + b }))),
  fc
    .tuple(bound, bound)
    .map(([a, b]) =>
      T.Number(opts({ exclusiveMinimum: a, maximum: b === undefined ? b : (a ?? 0) + b + 1 })),
    ),
  fc.constant(T.Boolean()),
  fc.constant(T.Null()),
  fc.constantFrom(T.Literal('a'), T.Literal('b'), T.Literal(1)),
)
const schema: fc.Arbitrary<TSchema> = fc.letrec<{ s: TSchema }>((tie) => ({
  s: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(tie('s'), tie('s')).map(([a, b]) => T.Union([a, b])),
    fc
      .tuple(tie('s'), bound, bound)
      .map(([items, a, b]) =>
        T.Array(items, opts({ minItems: a, maxItems: b === undefined ? b : (a ?? 0) + b })),
      ),
    fc
      .tuple(
        fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.tuple(tie('s'), fc.boolean()), { maxKeys: 3 }),
        fc.boolean(),
      )
      .map(([props, closed]) =>
        T.Object(
          Object.fromEntries(
            Object.entries(props).map(([k, [s, optional]]) => [k, optional ? T.Optional(s) : s]),
          ),
          closed ? { additionalProperties: false } : {},
        ),
      ),
  ),
})).s

/** Values valid under `s` (the subset `schema` makes), holding only declared properties. */
function valuesOf(s: TSchema): fc.Arbitrary<unknown> {
  const x = s as Record<string, any>
  if ('const' in x) return fc.constant(x.const)
  if (Array.isArray(x.anyOf)) return fc.oneof(...x.anyOf.map(valuesOf))
  switch (x.type) {
    case 'string':
      return fc.string({ minLength: x.minLength ?? 0, maxLength: x.maxLength ?? 6 })
    case 'integer':
      return fc.integer({ min: x.minimum ?? -5, max: x.maximum ?? 10 })
    case 'number': {
      const min = x.exclusiveMinimum ?? -5
      return fc
        .double({ min, max: x.maximum ?? 10, noNaN: true, noDefaultInfinity: true })
        .filter((n) => x.exclusiveMinimum === undefined || n > x.exclusiveMinimum)
    }
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array':
      return fc.array(valuesOf(x.items), { minLength: x.minItems ?? 0, maxLength: x.maxItems ?? 3 })
    case 'object': {
      const required = new Set<string>(x.required ?? [])
      const entries = Object.entries(x.properties ?? {}) as [string, TSchema][]
      return fc.record(Object.fromEntries(entries.map(([k, v]) => [k, valuesOf(v)])), {
        requiredKeys: entries.map(([k]) => k).filter((k) => required.has(k)),
      })
    }
    default:
      throw new Error(`no generator for ${JSON.stringify(s)}`)
  }
}
