// The one service every remote benchmark calls, in each framework's own terms: an
// `echo.ping` action with a validated input, answering its input. Peers and clients
// import it from here so every row measures the same payload.
import { Type as T } from '@sinclair/typebox'
import { defineService } from 'tessera/contract'

export const input = { text: 'hello', n: 42 }

export const echo = defineService({
  name: 'echo',
  actions: ({ action }) => ({
    ping: action({
      input: T.Object({ text: T.String(), n: T.Number() }),
      output: T.Object({ text: T.String(), n: T.Number() }),
      handler: ({ text, n }) => ({ text, n }),
    }),
  }),
})

export type EchoService = typeof echo

/** The same action for Moleculer, with its own parameter validation. */
export const moleculerEcho = {
  name: 'echo',
  actions: {
    ping: {
      params: { text: 'string', n: 'number' },
      handler: (ctx: { params: { text: string; n: number } }) => ({ text: ctx.params.text, n: ctx.params.n }),
    },
  },
}

/** Moleculer broker settings shared by the client and the server side of a benchmark. */
export const moleculerBase = { logger: false, validator: true, metrics: false, tracing: false } as const
