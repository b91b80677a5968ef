import { type ErrorData, TesseraError } from './tessera-error.ts'

/**
 * Errors a call of ours failed with, as the broker handed them to the code that made the
 * call. A handler that lets one through (the usual `await ctx.call(...)` without a catch)
 * passes on another service's failure: its own caller must not take it for the failure of
 * the instance that answered (its circuit breaker counts it as nothing, decision 0036), nor
 * believe its own request undelivered because a deeper one was.
 */
const fromCalls = new WeakSet<object>()

/** Marks `err` as the failure of an outgoing call (the broker does it; handlers need not). */
export function markCallFailure<E extends object>(err: E): E {
  fromCalls.add(err)
  return err
}

/** Whether `err` is an outgoing call's failure, as thrown to the code that made the call. */
export function isCallFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && fromCalls.has(err)
}

/**
 * The `data` of an error answered to a request. Whatever a deeper hop said of its own
 * request's delivery is not true of this one, which was delivered, so `delivered` goes;
 * a failure passed on from a call of the handler's gets `upstream: true`.
 */
export function answeredErrorData(data: ErrorData | undefined, passedOn: boolean): ErrorData | undefined {
  if (!passedOn && data?.delivered === undefined) return data
  const { delivered: _, ...rest } = data ?? {}
  return passedOn ? { ...rest, upstream: true } : Object.keys(rest).length > 0 ? rest : undefined
}

/**
 * The error a local handler run answers its in-process caller with: as a remote caller
 * would get it (`answeredErrorData`), so a deeper failure passed on reads as `upstream`
 * and its `delivered` does not pass for this call's. Anything else is handed over as is
 * (the same object: a handler's own error keeps its identity and stack).
 */
export function answeredError(err: unknown): unknown {
  if (!(err instanceof TesseraError)) return err
  const passedOn = isCallFailure(err)
  if (!passedOn && err.data?.delivered === undefined) return err
  const answered = new TesseraError(err.code, err.message, answeredErrorData(err.data, passedOn), {
    cause: err.cause,
  })
  if (err.stack !== undefined) answered.stack = err.stack
  return answered
}
