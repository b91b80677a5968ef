import pino from 'pino'
import type { Logger } from './logger.ts'
import { redactSecrets, SECRET_KEYS } from './redact-paths.ts'

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

export interface JsonLoggerOptions {
  /** Fields on every line (e.g. `{ service, unit, node }`). */
  bindings?: Record<string, unknown>
  /** Lowest level written; default `info`. */
  level?: LogLevelName
  /** Where lines go; default stdout. Each `write` gets one whole line, newline included. */
  destination?: { write(line: string): unknown }
  /** Field names redacted besides `SECRET_KEYS`. */
  secretKeys?: readonly string[]
}

/**
 * A pino logger writing one JSON object per line: `level` as its name (`"info"`), `time`
 * as ISO 8601, the bindings, the fields, then `msg`. Values under secret-looking keys
 * (`SECRET_KEYS`: password, token, authorization, cookie, privateKey…, anywhere in the
 * first four levels, in fields and in child bindings) are written as `[Redacted]`. `err` fields get pino's error serializer
 * (type, message, stack and own properties). Writes are synchronous when the destination
 * is (stdout on a pipe is, on Linux), so nothing is lost at `process.exit`.
 *
 * @example
 * const log = jsonLogger({ bindings: { service: 'users' } })
 * log.child({ requestId }).info({ user: { id, password } }, 'created') // password: "[Redacted]"
 */
export function jsonLogger(options: JsonLoggerOptions = {}): Logger {
  const secrets = new Set<string>([...SECRET_KEYS, ...(options.secretKeys ?? [])])
  const redact = (fields: Record<string, unknown>) => redactSecrets(fields, secrets)
  const root = pino(
    {
      level: options.level ?? 'info',
      base: options.bindings ?? {},
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: redact, bindings: redact },
    },
    options.destination ?? process.stdout,
  )
  // pino formats only the root's bindings; a child's (`ctx.log`'s, or a handler's own
  // `log.child({ token })`) go through the same redaction here. Children are made with
  // `Object.create(parent)`, so they all inherit this method.
  const child = root.child
  root.child = function (this: typeof root, bindings, childOptions) {
    return child.call(this, redact(bindings), childOptions)
  } as typeof child
  return root
}
