import type { Logger } from '../../../src/observability/index.ts'

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error'
  obj: object
  msg: string | undefined
}

/** A logger that keeps every entry (children included), so tests can check what was logged and what never was. */
export function recordingLogger(): { logger: Logger; entries: LogEntry[]; text: () => string } {
  const entries: LogEntry[] = []
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
      child: (more) => make({ ...bindings, ...more }),
    }
  }
  return { logger: make({}), entries, text: () => JSON.stringify(entries) }
}
