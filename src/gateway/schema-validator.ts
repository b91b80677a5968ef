import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import type { FieldError } from '../contract/index.ts'
import { TesseraError } from '../errors/index.ts'

/** Checks one value; throws VALIDATION naming the first failing field. */
export type InputCheck = (value: unknown) => void

/**
 * Compiles JSON Schemas announced by peers into checks, once per distinct schema.
 *
 * Ajv, not TypeBox: announced schemas arrive as plain JSON (TypeBox's `Kind` symbols do
 * not survive the wire) and TypeBox's `Value`/`TypeCompiler` refuse schemas without
 * them. Ajv compiles plain JSON Schema, and since v7 its code generation escapes every
 * schema value, so a hostile schema cannot inject code. It is set to the service's
 * semantics, so the gateway never lets through what the service refuses or the other
 * way round: string lengths in UTF-16 code units (JavaScript's `.length`, what TypeBox
 * counts; JSON Schema's own unit is the code point) and patterns without the `u` flag. Formats are not checked here
 * (the callee checks them with its own format registry); the first error is reported,
 * as collecting all errors of untrusted input costs more than it is worth.
 *
 * @example
 * const checks = createSchemaCompiler()
 * const check = checks.compile({ type: 'object', required: ['id'] }) // throws on a garbage schema
 * check({}) // throws TesseraError VALIDATION, data.errors = [{ path: '/id', message: ... }]
 */
export function createSchemaCompiler(): { compile(schema: unknown): InputCheck } {
  const ajv = new Ajv({
    strict: false,
    allErrors: false,
    addUsedSchema: false,
    validateFormats: false,
    logger: false,
    unicode: false,
    unicodeRegExp: false,
  })
  const cache = new Map<string, InputCheck>()
  return {
    compile(schema) {
      const key = JSON.stringify(schema)
      let check = cache.get(key)
      if (!check) {
        check = toCheck(ajv.compile(withoutMetaSchema(schema)))
        cache.set(key, check)
      }
      return check
    },
  }
}

function withoutMetaSchema(schema: unknown): object | boolean {
  if (typeof schema === 'boolean') return schema
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new TypeError('a schema must be an object or a boolean')
  }
  if (!('$schema' in schema)) return schema
  const { $schema: _ignored, ...rest } = schema as Record<string, unknown>
  return rest
}

function toCheck(validate: ValidateFunction): InputCheck {
  return (value) => {
    if (validate(value)) return
    const errors = (validate.errors ?? []).map(fieldError)
    const first = errors[0]
    const summary = first ? `input${first.path === '/' ? '' : first.path}: ${first.message}` : 'input'
    throw new TesseraError('VALIDATION', `invalid ${summary}`, { where: 'input', errors })
  }
}

function fieldError(e: ErrorObject): FieldError {
  const params = e.params as Record<string, unknown>
  const child =
    typeof params.missingProperty === 'string'
      ? params.missingProperty
      : typeof params.additionalProperty === 'string'
        ? params.additionalProperty
        : undefined
  const path = child === undefined ? e.instancePath : `${e.instancePath}/${child}`
  return { path: path || '/', message: e.message ?? 'is invalid' }
}
