// A handler must return what its output schema says.
import { Type as T } from '@sinclair/typebox'
import { defineService } from '../../../src/contract/index.ts'

export const svc = defineService({
  name: 'svc',
  actions: ({ action }) => ({
    get: action({
      input: T.Object({ id: T.String() }),
      output: T.Object({ id: T.String() }),
      // @expect-error TS2322 (number is not assignable to string)
      handler: ({ id }) => ({ id: id.length }),
    }),
  }),
})
