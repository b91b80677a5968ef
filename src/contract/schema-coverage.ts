/** JSON Schema as TypeBox writes it, read structurally. */
type Schema = Record<string, unknown>

/** Why a schema may let through a value the other does not. */
export interface CoverageProblem {
  /** Where, as a dotted path from the root (`input.address.zip`, `output.items[]`). */
  path: string
  /** What differs, phrased for people: `maxLength 20, was 64`. */
  reason: string
}

/**
 * The values a call or event carries are taken to hold only the properties their schema
 * declares (an extra field a caller sends anyway is its own business): so a new optional
 * property does not break callers even where the schema admits unknown properties.
 */
const STRUCTURAL = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'patternProperties',
  'items',
  'anyOf',
  'allOf',
  'const',
  'enum',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
  'uniqueItems',
])
/** Keywords that only describe: they never change which values pass. */
const DESCRIPTIVE = new Set([
  '$id',
  'title',
  'description',
  'default',
  'examples',
  'readOnly',
  'writeOnly',
  'deprecated',
])

/**
 * The reasons why some value valid under `narrow` may be invalid under `wide` — empty when
 * every value `narrow` accepts, `wide` accepts too. For an action's input, `wide` is the
 * new version's schema and `narrow` the old one's (the new must take all the old took);
 * for an output or an event payload, the other way round.
 *
 * It is a proof search over the JSON Schema that TypeBox writes (objects, arrays, unions,
 * intersections, literals, strings, numbers with their bounds). Where it cannot prove
 * coverage (a `$ref`, `not`, a tuple, a `patternProperties` that differs) it reports that,
 * so an unknown change is refused, never waved through.
 */
export function schemaCoverage(
  wide: unknown,
  narrow: unknown,
  path: string,
  newer: 'wide' | 'narrow' = 'wide',
): CoverageProblem[] {
  const out = new Problems(newer === 'wide')
  cover(asSchema(wide), asSchema(narrow), path, out)
  return out.list
}

/** The problems found, phrased as "new, was old" whichever side the newer schema is on. */
class Problems {
  readonly list: CoverageProblem[] = []
  constructor(readonly newerIsWide: boolean) {}

  /** `what` as said of an input (the newer is wide) or of an output (the newer is narrow). */
  say(path: string, ofInput: string, ofOutput: string): void {
    this.list.push({ path, reason: this.newerIsWide ? ofInput : ofOutput })
  }

  /** `<label> <new>, was <old>`. */
  pair(path: string, label: string, wide: string, narrow: string): void {
    const [now, was] = this.newerIsWide ? [wide, narrow] : [narrow, wide]
    this.list.push({ path, reason: `${label}${label ? ' ' : ''}${now}, was ${was}` })
  }

  push(...problems: CoverageProblem[]): void {
    this.list.push(...problems)
  }
}

function asSchema(s: unknown): Schema {
  return typeof s === 'object' && s !== null ? (s as Schema) : {}
}

function cover(wide: Schema, narrow: Schema, path: string, out: Problems): void {
  if (acceptsAnything(wide) || rejectsEverything(narrow)) return
  if (sameSchema(wide, narrow)) return
  // A union narrow: each branch must be covered. A union wide: one branch must cover.
  if (Array.isArray(narrow.anyOf)) {
    for (const branch of narrow.anyOf) cover(wide, asSchema(branch), path, out)
    return
  }
  if (Array.isArray(narrow.allOf)) {
    // An intersection lets through less than any of its parts: one covered part suffices.
    const tries = narrow.allOf.map((part) =>
      schemaCoverage(wide, part, path, out.newerIsWide ? 'wide' : 'narrow'),
    )
    if (tries.some((t) => t.length === 0)) return
    out.push(...tries[0]!)
    return
  }
  if ('const' in narrow || Array.isArray(narrow.enum)) {
    const values = 'const' in narrow ? [narrow.const] : (narrow.enum as unknown[])
    for (const v of values) {
      if (!admits(wide, v))
        out.say(
          path,
          `${JSON.stringify(v)} is no longer accepted`,
          `can now be ${JSON.stringify(v)}, outside the old contract`,
        )
    }
    return
  }
  if (Array.isArray(wide.anyOf)) {
    const tries = wide.anyOf.map((branch) =>
      schemaCoverage(branch, narrow, path, out.newerIsWide ? 'wide' : 'narrow'),
    )
    if (tries.some((t) => t.length === 0)) return
    out.pair(path, '', wide.anyOf.map((b) => describe(asSchema(b))).join(' | '), describe(narrow))
    return
  }
  if (Array.isArray(wide.allOf)) {
    for (const part of wide.allOf) cover(asSchema(part), narrow, path, out)
    return
  }
  if ('const' in wide || Array.isArray(wide.enum)) {
    out.pair(path, '', describe(wide), describe(narrow))
    return
  }
  const unknown = [...new Set([...Object.keys(wide), ...Object.keys(narrow)])].filter(
    (k) => !STRUCTURAL.has(k) && !DESCRIPTIVE.has(k),
  )
  if (unknown.length > 0) {
    out.push({
      path,
      reason: `cannot compare schemas using ${unknown.join(', ')}; the change is not proven safe`,
    })
    return
  }
  const wt = typeOf(wide)
  const nt = typeOf(narrow)
  if (wt === undefined) {
    out.push({ path, reason: 'a schema without a type changed; the change is not proven safe' })
    return
  }
  if (nt === undefined || !(wt === nt || (wt === 'number' && nt === 'integer'))) {
    out.pair(path, 'type', wt, nt ?? 'anything')
    return
  }
  switch (wt) {
    case 'string':
      bounds(wide, narrow, path, out, 'minLength', 'maxLength')
      sameIfSet(wide, narrow, path, out, 'pattern')
      sameIfSet(wide, narrow, path, out, 'format')
      return
    case 'number':
    case 'integer':
      numberBounds(wide, narrow, path, out)
      if (wide.multipleOf !== undefined && !isMultiple(narrow.multipleOf, wide.multipleOf)) {
        out.pair(path, 'multipleOf', String(wide.multipleOf), String(narrow.multipleOf ?? 'none'))
      }
      return
    case 'array':
      bounds(wide, narrow, path, out, 'minItems', 'maxItems')
      if (wide.uniqueItems === true && narrow.uniqueItems !== true)
        out.say(path, 'items must now be unique', 'items may now repeat')
      if (Array.isArray(wide.items) || Array.isArray(narrow.items)) {
        if (!sameSchema(asSchema(wide.items), asSchema(narrow.items)))
          out.push({ path, reason: 'tuple items changed; the change is not proven safe' })
        return
      }
      cover(asSchema(wide.items), asSchema(narrow.items), `${path}[]`, out)
      return
    case 'object':
      objects(wide, narrow, path, out)
      return
    default:
      return // boolean, null: nothing more to compare
  }
}

function objects(wide: Schema, narrow: Schema, path: string, out: Problems): void {
  const wProps = asSchema(wide.properties) as Record<string, unknown>
  const nProps = asSchema(narrow.properties) as Record<string, unknown>
  const wRequired = new Set(Array.isArray(wide.required) ? (wide.required as string[]) : [])
  const nRequired = new Set(Array.isArray(narrow.required) ? (narrow.required as string[]) : [])
  for (const name of wRequired) {
    if (!nRequired.has(name))
      out.say(
        `${path}.${name}`,
        name in nProps ? 'now required, was optional' : 'now required, was absent',
        name in nProps ? 'may now be missing, was always present' : 'removed',
      )
  }
  for (const [name, schema] of Object.entries(nProps)) {
    const at = `${path}.${name}`
    if (name in wProps) cover(asSchema(wProps[name]), asSchema(schema), at, out)
    else if (wide.additionalProperties === false)
      out.say(at, 'no longer accepted', 'new, and the old contract forbade it')
    else if (typeof wide.additionalProperties === 'object' && wide.additionalProperties !== null)
      cover(asSchema(wide.additionalProperties), asSchema(schema), at, out)
  }
  const wPat = asSchema(wide.patternProperties) as Record<string, unknown>
  const nPat = asSchema(narrow.patternProperties) as Record<string, unknown>
  const patterns = [...new Set([...Object.keys(wPat), ...Object.keys(nPat)])]
  for (const pattern of patterns) {
    // A map (Record): the same key patterns, each value covered; other patterns are not compared.
    if (!(pattern in nPat)) continue
    if (pattern in wPat) cover(asSchema(wPat[pattern]), asSchema(nPat[pattern]), `${path}.*`, out)
    else if (wide.additionalProperties !== undefined && wide.additionalProperties !== true)
      out.push({
        path: `${path}.*`,
        reason: `keys matching ${pattern} changed; the change is not proven safe`,
      })
  }
  const wAdd = wide.additionalProperties
  const nAdd = narrow.additionalProperties
  if (typeof nAdd === 'object' && nAdd !== null) {
    // A map (Record) narrow: its values must fit what wide takes for unknown keys.
    if (wAdd === false) out.say(`${path}.*`, 'other keys are no longer accepted', 'other keys may now appear')
    else if (typeof wAdd === 'object' && wAdd !== null)
      cover(asSchema(wAdd), asSchema(nAdd), `${path}.*`, out)
  }
}

function bounds(wide: Schema, narrow: Schema, path: string, out: Problems, min: string, max: string): void {
  const wMin = num(wide[min]) ?? 0
  const nMin = num(narrow[min]) ?? 0
  if (nMin < wMin) out.pair(path, min, String(wMin), String(nMin))
  const wMax = num(wide[max]) ?? Number.POSITIVE_INFINITY
  const nMax = num(narrow[max]) ?? Number.POSITIVE_INFINITY
  if (nMax > wMax) out.pair(path, max, finite(wMax), finite(nMax))
}

function numberBounds(wide: Schema, narrow: Schema, path: string, out: Problems): void {
  const lo = (s: Schema) => {
    const inclusive = num(s.minimum) ?? Number.NEGATIVE_INFINITY
    const exclusive = num(s.exclusiveMinimum) ?? Number.NEGATIVE_INFINITY
    return exclusive >= inclusive
      ? { v: exclusive, open: Number.isFinite(exclusive) }
      : { v: inclusive, open: false }
  }
  const hi = (s: Schema) => {
    const inclusive = num(s.maximum) ?? Number.POSITIVE_INFINITY
    const exclusive = num(s.exclusiveMaximum) ?? Number.POSITIVE_INFINITY
    return exclusive <= inclusive
      ? { v: exclusive, open: Number.isFinite(exclusive) }
      : { v: inclusive, open: false }
  }
  const [wl, nl, wh, nh] = [lo(wide), lo(narrow), hi(wide), hi(narrow)]
  if (nl.v < wl.v || (nl.v === wl.v && wl.open && !nl.open))
    out.pair(path, 'lower bound', `${wl.open ? '>' : '≥'} ${wl.v}`, `${nl.open ? '>' : '≥'} ${nl.v}`)
  if (nh.v > wh.v || (nh.v === wh.v && wh.open && !nh.open))
    out.pair(path, 'upper bound', `${wh.open ? '<' : '≤'} ${wh.v}`, `${nh.open ? '<' : '≤'} ${nh.v}`)
}

function sameIfSet(wide: Schema, narrow: Schema, path: string, out: Problems, key: string): void {
  if (wide[key] !== undefined && wide[key] !== narrow[key])
    out.pair(path, key, JSON.stringify(wide[key]), JSON.stringify(narrow[key] ?? null))
}

function isMultiple(narrow: unknown, wide: unknown): boolean {
  const n = num(narrow)
  const w = num(wide)
  return n !== undefined && w !== undefined && Number.isInteger(n / w)
}

function finite(n: number): string {
  return Number.isFinite(n) ? String(n) : 'none'
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined
}

function typeOf(s: Schema): string | undefined {
  return typeof s.type === 'string' ? s.type : undefined
}

function acceptsAnything(s: Schema): boolean {
  return Object.keys(s).every((k) => DESCRIPTIVE.has(k))
}

function rejectsEverything(s: Schema): boolean {
  const not = s.not
  return typeof not === 'object' && not !== null && acceptsAnything(not as Schema)
}

function sameSchema(a: Schema, b: Schema): boolean {
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b))
}

/** The schema without descriptive keywords, keys sorted, for comparing by value. */
function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip)
  if (typeof v !== 'object' || v === null) return v
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v).sort()) if (!DESCRIPTIVE.has(k)) out[k] = strip((v as Schema)[k])
  return out
}

function describe(s: Schema): string {
  if ('const' in s) return JSON.stringify(s.const)
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ')
  if (Array.isArray(s.anyOf)) return s.anyOf.map((b) => describe(asSchema(b))).join(' | ')
  return typeOf(s) ?? 'anything'
}

/**
 * Whether `value` passes `schema`, for the keywords compared here (announced schemas are
 * plain JSON, so TypeBox's own checker, which reads its symbols, cannot run on them).
 * Anything it does not know — a `format`, an unknown keyword — counts as not admitted.
 */
function admits(schema: Schema, value: unknown): boolean {
  if (acceptsAnything(schema)) return true
  for (const k of Object.keys(schema)) if (!STRUCTURAL.has(k) && !DESCRIPTIVE.has(k)) return false
  if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) return false
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    return false
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((b) => admits(asSchema(b), value))) return false
  if (Array.isArray(schema.allOf) && !schema.allOf.every((b) => admits(asSchema(b), value))) return false
  const type = typeOf(schema)
  if (type === undefined) return true
  switch (type) {
    case 'null':
      return value === null
    case 'boolean':
      return typeof value === 'boolean'
    case 'string':
      return (
        typeof value === 'string' &&
        schema.format === undefined &&
        [...value].length >= (num(schema.minLength) ?? 0) &&
        [...value].length <= (num(schema.maxLength) ?? Number.POSITIVE_INFINITY) &&
        (typeof schema.pattern !== 'string' || new RegExp(schema.pattern).test(value))
      )
    case 'integer':
    case 'number':
      return (
        typeof value === 'number' &&
        (type === 'number' || Number.isInteger(value)) &&
        value >= (num(schema.minimum) ?? Number.NEGATIVE_INFINITY) &&
        value <= (num(schema.maximum) ?? Number.POSITIVE_INFINITY) &&
        value > (num(schema.exclusiveMinimum) ?? Number.NEGATIVE_INFINITY) &&
        value < (num(schema.exclusiveMaximum) ?? Number.POSITIVE_INFINITY) &&
        (schema.multipleOf === undefined || Number.isInteger(value / (num(schema.multipleOf) ?? 1)))
      )
    case 'array':
      return (
        Array.isArray(value) &&
        !Array.isArray(schema.items) &&
        value.length >= (num(schema.minItems) ?? 0) &&
        value.length <= (num(schema.maxItems) ?? Number.POSITIVE_INFINITY) &&
        value.every((v) => admits(asSchema(schema.items), v))
      )
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
      const props = asSchema(schema.properties) as Record<string, unknown>
      const required = Array.isArray(schema.required) ? (schema.required as string[]) : []
      if (!required.every((k) => k in value)) return false
      return Object.entries(value).every(([k, v]) =>
        k in props
          ? admits(asSchema(props[k]), v)
          : schema.additionalProperties === false
            ? false
            : typeof schema.additionalProperties === 'object'
              ? admits(asSchema(schema.additionalProperties), v)
              : schema.patternProperties === undefined,
      )
    }
    default:
      return false
  }
}
