// A handler may only emit events its service declares, with their payload type.
import { Type as T } from '@sinclair/typebox'
import { defineService } from '../../../src/contract/index.ts'

export const svc = defineService({
  name: 'svc',
  events: { 'thing.done': T.Object({ n: T.Number() }) },
  actions: ({ action }) => ({
    go: action({
      input: T.Object({}),
      output: T.Null(),
      handler: async (_input, ctx) => {
        // @expect-error TS2345 (not a declared event)
        await ctx.emit('thing.undone', { n: 1 })
        // @expect-error TS2322 (string is not assignable to number)
        await ctx.emit('thing.done', { n: 'one' })
        return null
      },
    }),
  }),
})
