import pino from 'pino'
import type { Logger } from './logger.ts'
import { REDACT_PATHS, REDACTED } from './redact-paths.ts'

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

export interface JsonLoggerOptions {
  /** Fields on every line (e.g. `{ service, unit, node }`). */
  bindings?: Record<string, unknown>
  /** Lowest level written; default `info`. */
  level?: LogLevelName
  /** Where lines go; default stdout. Each `write` gets one whole line, newline included. */
  destination?: { write(line: string): unknown }
  /** Paths redacted besides `REDACT_PATHS` (pino `redact` syntax). */
  redact?: readonly string[]
}

/**
 * A pino logger writing one JSON object per line: `level` as its name (`"info"`), `time`
 * as ISO 8601, the bindings, the fields, then `msg`. Values under secret-looking keys
 * (`REDACT_PATHS`: password, token, authorization, cookie, privateKey… also one and two
 * levels down) are written as `[Redacted]`. `err` fields get pino's error serializer
 * (type, message, stack and own properties). Writes are synchronous when the destination
 * is (stdout on a pipe is, on Linux), so nothing is lost at `process.exit`.
 *
 * @example
 * const log = jsonLogger({ bindings: { service: 'users' } })
 * log.child({ requestId }).info({ user: { id, password } }, 'created') // password: "[Redacted]"
 */
export function jsonLogger(options: JsonLoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: options.bindings ?? {},
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACT_PATHS, ...(options.redact ?? [])], censor: REDACTED },
    },
    options.destination ?? process.stdout,
  )
}
