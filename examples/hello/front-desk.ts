import { Type as T } from '@sinclair/typebox'
import { defineService, subscribe } from 'tessera/contract'
import type { GreeterService } from './greeter.ts' // types only: no runtime dependency

export const frontDesk = defineService({
  name: 'front-desk',
  on: subscribe<GreeterService>({ greeted: ({ name }) => void seen.push(name) }),
  actions: ({ action }) => ({
    welcome: action({
      input: T.Object({ guests: T.Array(T.String()) }),
      output: T.Array(T.String()),
      handler: ({ guests }, ctx) =>
        Promise.all(
          guests.map(async (name) => (await ctx.client<GreeterService>('greeter').hello({ name })).text),
        ),
    }),
  }),
})
export type FrontDeskService = typeof frontDesk
export const seen: string[] = []
