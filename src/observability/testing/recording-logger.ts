import type { Logger } from '../logger.ts'

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error'
  /** The line's fields with the bindings of the child loggers it went through. */
  obj: Record<string, unknown>
  msg: string | undefined
}

/**
 * For tests: a logger that keeps every entry (children included), so a test can check
 * what was logged and what never was; `children()` counts `child()` calls (each one is a
 * logger made, which the broker avoids on calls that never log).
 */
export function recordingLogger(): {
  logger: Logger
  entries: LogEntry[]
  text: () => string
  children: () => number
} {
  const entries: LogEntry[] = []
  let children = 0
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: LogEntry['level']) =>
      (obj: object, msg?: string): void => {
        entries.push({ level, obj: { ...bindings, ...obj }, msg })
      }
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => {
        children++
        return make({ ...bindings, ...more })
      },
    }
  }
  return { logger: make({}), entries, text: () => JSON.stringify(entries), children: () => children }
}
