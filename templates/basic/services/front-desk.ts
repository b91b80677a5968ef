import { defineService } from 'tessera'
import { Type as T } from 'tessera/contract'
import type { GreeterService } from './greeter.ts' // types only: no runtime dependency

/** Welcomes a guest over HTTP by asking the greeter: `GET /welcome/:name`. */
export const frontDesk = defineService({
  name: 'front-desk',
  actions: ({ action }) => ({
    welcome: action({
      input: T.Object({ name: T.String({ minLength: 1, maxLength: 100 }) }),
      output: T.Object({ message: T.String() }),
      http: { method: 'GET', path: '/welcome/:name', auth: 'public' },
      handler: async ({ name }, ctx) => {
        const { text } = await ctx.client<GreeterService>('greeter').hello({ name })
        return { message: `${text} Welcome to __NAME__.` }
      },
    }),
  }),
})
export type FrontDeskService = typeof frontDesk
export default frontDesk
