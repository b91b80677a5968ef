/**
 * The logger every part receives by injection. Its shape is pino's (`obj, msg`), so a
 * pino instance fits as is; library code never writes to the console directly.
 */
export interface Logger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  child(bindings: Record<string, unknown>): Logger
}

/** Drops everything: the default, so embedding Tessera stays quiet unless asked. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger
  },
}
