import { describe, expect, it } from 'vitest'
import { compileInputAssembler } from './input.ts'

const schema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    ratio: { type: 'number' },
    on: { type: 'boolean' },
    maybe: { anyOf: [{ type: 'number' }, { type: 'null' }] },
    ids: { type: 'array', items: { type: 'integer' } },
    name: { type: 'string' },
  },
}

describe('compileInputAssembler', () => {
  const assemble = compileInputAssembler(schema)

  it('coerces query and path strings to the declared scalar types', () => {
    expect(
      assemble(
        { id: '7' },
        { ratio: '0.5', on: 'false', maybe: 'null', ids: ['1', '2'], name: '12' },
        undefined,
      ),
    ).toEqual({ id: 7, ratio: 0.5, on: false, maybe: null, ids: [1, 2], name: '12' })
  })

  it('leaves strings that do not parse for validation to name', () => {
    expect(assemble({}, { id: '7x', on: 'yes', ratio: '' }, undefined)).toEqual({
      id: '7x',
      on: 'yes',
      ratio: '',
    })
  })

  it('wraps a single query value for an array property', () => {
    expect(assemble({}, { ids: '3' }, undefined)).toEqual({ ids: [3] })
  })

  it('never coerces body values, and lets the path win over query and body', () => {
    expect(assemble({ id: '1' }, { name: 'q' }, { id: 2, ratio: '0.5', name: 'b' })).toEqual({
      id: 1,
      ratio: '0.5',
      name: 'q',
    })
  })

  it('passes a body through untouched when there is nothing to merge', () => {
    const body = { a: 1 }
    expect(assemble({}, {}, body)).toBe(body)
    expect(assemble({}, undefined, [1, 2])).toEqual([1, 2])
  })

  it('refuses a non-object body that would have to merge with parameters', () => {
    expect(() => assemble({ id: '1' }, {}, [1])).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }))
  })
})
