export { type ErrorCode, ErrorCodes, isErrorCode } from './codes.ts'
export {
  type ErrorData,
  isTesseraError,
  normalizeError,
  TesseraError,
  type WireError,
} from './tessera-error.ts'
