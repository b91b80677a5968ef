import { type ErrorCode, ErrorCodes, isErrorCode } from './codes.ts'

/** Extra facts about an error that survive any transport (plain JSON/msgpack data). */
export type ErrorData = Record<string, unknown>

/** What crosses the wire: never a stack unless the sender runs with `debug`. */
export interface WireError {
  code: ErrorCode
  message: string
  data?: ErrorData
  stack?: string
}

/**
 * The one error class of Tessera. Handlers throw it (or anything: unknown throws
 * become `INTERNAL` at one choke point, `normalizeError`); callers get it back with
 * the same code, message and data whatever transport carried it.
 *
 * @example
 * throw new TesseraError('NOT_FOUND', `user ${id} not found`, { id })
 */
export class TesseraError extends Error {
  override readonly name = 'TesseraError'
  readonly code: ErrorCode
  readonly data: ErrorData | undefined

  constructor(code: ErrorCode, message: string, data?: ErrorData, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.data = data
  }

  get status(): number {
    return ErrorCodes[this.code].status
  }

  get retryable(): boolean {
    return ErrorCodes[this.code].retryable
  }

  /** The wire form. Stacks only travel when `debug` is set, so remote callers never see internals. */
  toWire(debug = false): WireError {
    const wire: WireError = { code: this.code, message: this.message }
    if (this.data !== undefined) wire.data = this.data
    if (debug && this.stack) wire.stack = this.stack
    return wire
  }

  static fromWire(wire: WireError): TesseraError {
    const code = isErrorCode(wire.code) ? wire.code : 'INTERNAL'
    const err = new TesseraError(code, String(wire.message ?? ''), wire.data)
    // The local stack points at the transport; a remote stack (debug only) is more useful.
    err.stack = wire.stack ?? `TesseraError [${code}]: ${err.message}`
    return err
  }
}

/**
 * Turns anything thrown into a TesseraError. Unknown throws become INTERNAL with a
 * generic message: the original is kept as `cause` locally and never sent remote
 * (its message may hold secrets or internals).
 */
export function normalizeError(err: unknown): TesseraError {
  if (err instanceof TesseraError) return err
  if (err instanceof Error && err.name === 'AbortError') {
    return new TesseraError('CANCELLED', 'the call was cancelled', undefined, { cause: err })
  }
  return new TesseraError('INTERNAL', 'internal error', undefined, { cause: err })
}

export function isTesseraError(err: unknown, code?: ErrorCode): err is TesseraError {
  return err instanceof TesseraError && (code === undefined || err.code === code)
}
