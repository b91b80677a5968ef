import { defineService } from 'tessera'
import { Type as T } from 'tessera/contract'

/** Says hello. Internal: no `http` route, so only other services can call it. */
export const greeter = defineService({
  name: 'greeter',
  actions: ({ action }) => ({
    hello: action({
      input: T.Object({ name: T.String({ minLength: 1, maxLength: 100 }) }),
      output: T.Object({ text: T.String() }),
      idempotent: true,
      handler: async ({ name }) => ({ text: `Hello, ${name}!` }),
    }),
  }),
})
export type GreeterService = typeof greeter
export default greeter
