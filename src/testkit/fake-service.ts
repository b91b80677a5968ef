import type { Static, TSchema } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import type { ActionDefinition, AnyService, Context, InputOf, OutputOf } from '../contract/index.ts'
import { compileValidator, defineService } from '../contract/index.ts'

export type FakeHandlers<S extends AnyService> = {
  [K in keyof S['actions']]?: (
    input: InputOf<S['actions'][K]>,
    ctx: Context,
  ) => OutputOf<S['actions'][K]> | Promise<OutputOf<S['actions'][K]>>
}

export interface FakeOptions {
  /** Actions to mark idempotent (so callers retry them), as the real service would. */
  idempotent?: string[]
}

/**
 * A stand-in for service `S` built from its type alone: the actions given here
 * answer; others are absent (callers get NOT_FOUND). Inputs and outputs are not
 * validated: the fake trusts the types.
 *
 * @example
 * const users = fakeService<UsersService>('users', { get: async ({ id }) => ({ id, name: 'Ada' }) })
 */
export function fakeService<S extends AnyService>(
  name: S['name'],
  handlers: FakeHandlers<S>,
  options: FakeOptions = {},
): AnyService {
  const idempotent = new Set(options.idempotent ?? [])
  return defineService({
    name,
    actions: () => {
      const actions: Record<string, ActionDefinition> = {}
      for (const [action, handler] of Object.entries(handlers)) {
        if (typeof handler !== 'function') continue
        actions[action] = {
          input: compileValidator(Type.Unknown() as TSchema),
          output: compileValidator(Type.Unknown() as TSchema),
          handler: handler as (input: Static<TSchema>, ctx: Context) => unknown,
          idempotent: idempotent.has(action),
          policy: undefined,
          callers: undefined,
          http: undefined,
          description: `fake of ${name}.${action}`,
        }
      }
      return actions
    },
  })
}
