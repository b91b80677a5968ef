import { Type as T } from '@sinclair/typebox'
import { defineService } from 'tessera/contract'

export const greeter = defineService({
  name: 'greeter',
  events: { greeted: T.Object({ name: T.String() }) },
  actions: ({ action }) => ({
    hello: action({
      input: T.Object({ name: T.String({ minLength: 1 }) }),
      output: T.Object({ text: T.String() }),
      idempotent: true,
      handler: async ({ name }, ctx) => {
        await ctx.emit('greeted', { name })
        return { text: `Hello, ${name}!` }
      },
    }),
  }),
})
export type GreeterService = typeof greeter
