import { type ErrorCode, ErrorCodes, type ErrorData, normalizeError, TesseraError } from '../errors/index.ts'
import { bearerChallenge } from './auth.ts'

/** The JSON body of every error answer. Never a stack. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; data?: ErrorData }
}

export interface HttpErrorAnswer {
  status: number
  body: ErrorBody
  headers: Record<string, string>
  /** True when the error is the server's fault (log it). */
  internal: boolean
}

/**
 * Turns anything a request can fail with into an HTTP answer: TesseraErrors keep their
 * code and get the status of the code table; errors of the HTTP layer (malformed JSON,
 * body too large, unsupported media type) become BAD_REQUEST / PAYLOAD_TOO_LARGE; all
 * else, and every INTERNAL, becomes 500 with a generic message so nothing leaks.
 *
 * @example
 * const { status, body, headers } = toHttpError(new TesseraError('NOT_FOUND', 'user 7 not found'))
 * // 404, { error: { code: 'NOT_FOUND', message: 'user 7 not found' } }, {}
 */
export function toHttpError(err: unknown): HttpErrorAnswer {
  const httpStatus = err instanceof TesseraError ? undefined : statusOf(err)
  const error =
    err instanceof TesseraError
      ? err
      : httpStatus
        ? fromHttpLayer(err as Error, httpStatus)
        : normalizeError(err)
  const headers: Record<string, string> = {}
  if (error.code === 'INTERNAL') {
    return {
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'internal error' } },
      headers,
      internal: true,
    }
  }
  if (error.code === 'UNAUTHORIZED') headers['www-authenticate'] = bearerChallenge(error)
  const retryAfter = error.data?.retryAfterSec
  if (error.code === 'RATE_LIMITED' && typeof retryAfter === 'number') {
    headers['retry-after'] = String(retryAfter)
  }
  const body: ErrorBody = { error: { code: error.code, message: error.message } }
  if (error.data !== undefined) body.error.data = error.data
  const status = httpStatus === 415 ? 415 : ErrorCodes[error.code].status
  return { status, body, headers, internal: false }
}

/** Fastify's own errors carry a 4xx `statusCode`; their messages are safe to show. */
function statusOf(err: unknown): number | undefined {
  if (!(err instanceof Error)) return undefined
  const status = (err as { statusCode?: unknown }).statusCode
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined
}

function fromHttpLayer(err: Error, status: number): TesseraError {
  if (status === 413) return new TesseraError('PAYLOAD_TOO_LARGE', 'the request body is too large')
  if (status === 415) {
    return new TesseraError('BAD_REQUEST', 'the body must be JSON (Content-Type: application/json)')
  }
  return new TesseraError('BAD_REQUEST', err.message)
}
