export { type ErrorCode, ErrorCodes, isErrorCode } from './codes.ts'
export { answeredError, answeredErrorData, isCallFailure, markCallFailure } from './passed-on.ts'
export {
  type ErrorData,
  isTesseraError,
  normalizeError,
  TesseraError,
  type WireError,
} from './tessera-error.ts'
