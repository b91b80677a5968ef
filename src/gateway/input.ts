import { TesseraError } from '../errors/index.ts'

/** Builds one action input from a request's parts; throws BAD_REQUEST when they cannot merge. */
export type InputAssembler = (
  params: Record<string, string>,
  query: Record<string, unknown> | undefined,
  body: unknown,
) => unknown

type Coerce = (value: unknown) => unknown

/**
 * Compiles, once per route, how a request becomes the action's input: the JSON body,
 * then query parameters, then path parameters (the path wins) merged into one object.
 * Query and path strings are coerced to the type the announced input schema declares
 * for that property (number, integer, boolean, or an array of those); a string that
 * does not parse stays a string, so validation names the field. Body values are
 * never coerced: JSON already has types.
 *
 * @example
 * const assemble = compileInputAssembler({ type: 'object', properties: { limit: { type: 'integer' } } })
 * assemble({ id: '7' }, { limit: '10' }, undefined) // { limit: 10, id: '7' }
 */
export function compileInputAssembler(schema: unknown): InputAssembler {
  const coercers = propertyCoercers(schema)
  const coerceAll = (source: Record<string, unknown>): Record<string, unknown> => {
    if (coercers.size === 0) return source
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(source)) {
      const coerce = coercers.get(key)
      out[key] = coerce ? coerce(source[key]) : source[key]
    }
    return out
  }
  return (params, query, body) => {
    const hasParams = hasKeys(params)
    const hasQuery = query !== undefined && hasKeys(query)
    if (body === undefined || body === null) {
      if (!hasParams && !hasQuery) return {}
      return { ...(hasQuery ? coerceAll(query) : undefined), ...(hasParams ? coerceAll(params) : undefined) }
    }
    if (typeof body !== 'object' || Array.isArray(body)) {
      if (!hasParams && !hasQuery) return body
      throw new TesseraError(
        'BAD_REQUEST',
        'the body must be a JSON object when the route has path or query parameters',
      )
    }
    if (!hasParams && !hasQuery) return body
    return {
      ...(body as Record<string, unknown>),
      ...(hasQuery ? coerceAll(query) : undefined),
      ...(hasParams ? coerceAll(params) : undefined),
    }
  }
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true
  return false
}

/** Property name → coercer, for the top-level properties whose schema asks for a non-string scalar. */
export function propertyCoercers(schema: unknown): Map<string, Coerce> {
  const out = new Map<string, Coerce>()
  const properties = isObject(schema) && isObject(schema.properties) ? schema.properties : undefined
  if (!properties) return out
  for (const [name, propSchema] of Object.entries(properties)) {
    const coerce = coercerFor(propSchema)
    if (coerce) out.set(name, coerce)
  }
  return out
}

function coercerFor(schema: unknown): Coerce | undefined {
  const types = scalarTypes(schema)
  if (types.has('array') && isObject(schema)) {
    const item = coercerFor(schema.items)
    return (v) => {
      const list = Array.isArray(v) ? v : [v]
      return item ? list.map(item) : list
    }
  }
  const number = types.has('number') || types.has('integer')
  const boolean = types.has('boolean')
  const nullable = types.has('null')
  if (!number && !boolean && !nullable) return undefined
  return (v) => {
    if (typeof v !== 'string') return v
    if (number && NUMBER.test(v)) return Number(v)
    if (boolean && (v === 'true' || v === 'false')) return v === 'true'
    if (nullable && v === 'null') return null
    return v
  }
}

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** The JSON types a schema admits, looking through `type` arrays and `anyOf`/`oneOf` of simple schemas. */
function scalarTypes(schema: unknown, depth = 0): Set<string> {
  const out = new Set<string>()
  if (!isObject(schema) || depth > 3) return out
  const { type } = schema
  if (typeof type === 'string') out.add(type)
  else if (Array.isArray(type)) for (const t of type) if (typeof t === 'string') out.add(t)
  for (const key of ['anyOf', 'oneOf'] as const) {
    const list = schema[key]
    if (Array.isArray(list)) for (const s of list) for (const t of scalarTypes(s, depth + 1)) out.add(t)
  }
  if (typeof schema.const === 'number') out.add('number')
  if (typeof schema.const === 'boolean') out.add('boolean')
  return out
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
