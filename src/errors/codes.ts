/**
 * The closed table of error codes. Each code knows the HTTP status the gateway
 * answers with and whether a caller may retry the same call on another instance.
 *
 * `retryable` means "the callee did not run the handler to completion, or ran it
 * somewhere that is gone": retrying is only ever done for idempotent actions.
 */
export const ErrorCodes = {
  VALIDATION: { status: 400, retryable: false },
  BAD_REQUEST: { status: 400, retryable: false },
  UNAUTHORIZED: { status: 401, retryable: false },
  FORBIDDEN: { status: 403, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  CONFLICT: { status: 409, retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  RATE_LIMITED: { status: 429, retryable: false },
  CANCELLED: { status: 499, retryable: false },
  INTERNAL: { status: 500, retryable: false },
  UNAVAILABLE: { status: 503, retryable: true },
  CIRCUIT_OPEN: { status: 503, retryable: true },
  OVERLOADED: { status: 503, retryable: true },
  TIMEOUT: { status: 504, retryable: false },
} as const satisfies Record<string, { status: number; retryable: boolean }>

export type ErrorCode = keyof typeof ErrorCodes

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value)
}
