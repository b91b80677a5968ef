/**
 * Services the conformance suite runs on every transport. State is per process, so
 * a test asks an instance about itself through its actions (`whoami`, `aborts`).
 */
import { Type as T } from '@sinclair/typebox'
import { defineService, subscribe } from '../../src/contract/index.ts'
import { type ErrorCode, TesseraError } from '../../src/errors/index.ts'

export function echoService(instance: string) {
  const aborted: string[] = []
  return defineService({
    name: 'echo',
    events: { 'echo.happened': T.Object({ n: T.Number(), from: T.String() }) },
    actions: ({ action }) => ({
      echo: action({
        input: T.Object({ data: T.Unknown() }),
        output: T.Object({ data: T.Unknown() }),
        idempotent: true,
        handler: ({ data }) => ({ data }),
      }),
      bytes: action({
        input: T.Object({ data: T.Uint8Array() }),
        output: T.Object({ length: T.Integer(), data: T.Uint8Array() }),
        idempotent: true,
        handler: ({ data }) => ({ length: data.length, data }),
      }),
      whoami: action({
        input: T.Object({}),
        output: T.String(),
        idempotent: true,
        handler: () => instance,
      }),
      fail: action({
        input: T.Object({ code: T.String(), data: T.Optional(T.Record(T.String(), T.Unknown())) }),
        output: T.Null(),
        handler: ({ code, data }) => {
          throw new TesseraError(code as ErrorCode, `asked to fail with ${code}`, data)
        },
      }),
      wait: action({
        input: T.Object({ ms: T.Number(), tag: T.String() }),
        output: T.String(),
        idempotent: true,
        handler: ({ ms, tag }, ctx) =>
          new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => resolve(instance), ms)
            ctx.signal.addEventListener('abort', () => {
              clearTimeout(timer)
              aborted.push(tag)
              reject(ctx.signal.reason)
            })
          }),
      }),
      /** Non-idempotent twin of `wait`: never retried. */
      hold: action({
        input: T.Object({ ms: T.Number() }),
        output: T.String(),
        handler: ({ ms }) => new Promise<string>((resolve) => setTimeout(() => resolve(instance), ms)),
      }),
      aborts: action({
        input: T.Object({}),
        output: T.Array(T.String()),
        idempotent: true,
        handler: () => [...aborted],
      }),
      emit: action({
        input: T.Object({ n: T.Number() }),
        output: T.Null(),
        handler: async ({ n }, ctx) => {
          await ctx.emit('echo.happened', { n, from: instance })
          return null
        },
      }),
    }),
  })
}
export type EchoService = ReturnType<typeof echoService>

/** A subscriber that records what reached this instance; `seen` tells a test. */
export function listenerService(name: string, mode: 'balanced' | 'broadcast', instance: string) {
  const seen: number[] = []
  return defineService({
    name,
    on: subscribe<EchoService>({ 'echo.happened': { mode, handler: ({ n }) => void seen.push(n) } }),
    actions: ({ action }) => ({
      seen: action({
        input: T.Object({}),
        output: T.Object({ instance: T.String(), seen: T.Array(T.Number()) }),
        idempotent: true,
        handler: () => ({ instance, seen: [...seen] }),
      }),
    }),
  })
}
export type ListenerService = ReturnType<typeof listenerService>
