import type { Static, TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { TesseraError } from '../errors/index.ts'

/** One failing field: a JSON pointer into the value and what was expected there. */
export interface FieldError {
  path: string
  message: string
}

export interface Validator<S extends TSchema> {
  readonly schema: S
  /** Returns the value typed, or throws VALIDATION naming every failing field (at most 10). */
  assert(value: unknown, where: string): Static<S>
  check(value: unknown): value is Static<S>
}

const MAX_REPORTED_ERRORS = 10

/**
 * Compiles a TypeBox schema once into a validator. The compiled check is a plain
 * function, so the happy path costs one call; errors are only collected on failure.
 */
export function compileValidator<S extends TSchema>(schema: S): Validator<S> {
  const compiled = TypeCompiler.Compile(schema)
  return {
    schema,
    check: (value): value is Static<S> => compiled.Check(value),
    assert(value, where) {
      if (compiled.Check(value)) return value
      const errors: FieldError[] = []
      for (const e of compiled.Errors(value)) {
        errors.push({ path: e.path || '/', message: e.message })
        if (errors.length >= MAX_REPORTED_ERRORS) break
      }
      const first = errors[0]
      const summary = first ? `${where}${first.path === '/' ? '' : first.path}: ${first.message}` : where
      throw new TesseraError('VALIDATION', `invalid ${summary}`, { where, errors })
    },
  }
}
