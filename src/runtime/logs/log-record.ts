/**
 * One line of a unit's log file, parsed: a JSON object. Instances write pino records
 * (`level`, `time`, `msg`, `service`, `node`, and `requestId`/`traceId` inside a call);
 * the supervisor adds `unit` and `instance` (the label, e.g. `users#2`) as it files
 * them, and writes its own events with `instance: 'supervisor'`.
 */
export interface LogRecord {
  level?: unknown
  time?: unknown
  msg?: unknown
  unit?: unknown
  instance?: unknown
  requestId?: unknown
  traceId?: unknown
  [field: string]: unknown
}

/** Which of an instance's output streams a line came from. */
export type LogStream = 'stdout' | 'stderr'

/** The line as a record when it is a JSON object, else undefined. */
export function parseLogLine(line: string): LogRecord | undefined {
  if (line.charCodeAt(0) !== 0x7b /* { */) return undefined
  try {
    const value: unknown = JSON.parse(line)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as LogRecord)
      : undefined
  } catch {
    return undefined
  }
}

/**
 * What the supervisor files for one line an instance wrote: its JSON object with `unit`
 * and `instance` set (the label overrides whatever the line said) and `time` added if
 * missing; anything else (a crash stack, a stray `console.log`) is wrapped as
 * `{ level: 'error' (stderr) | 'info' (stdout), msg: <line>, stream }`. Keys come in a
 * fixed order (time, level, instance, unit first) so raw lines stay scannable.
 */
export function instanceRecord(
  line: string,
  unit: string,
  instance: string,
  stream: LogStream,
  now: Date = new Date(),
): LogRecord {
  const parsed = parseLogLine(line)
  const record: LogRecord = { time: undefined, level: undefined, instance, unit }
  if (parsed) Object.assign(record, parsed)
  else Object.assign(record, { msg: line, stream })
  record.instance = instance
  record.unit = unit
  record.time ??= now.toISOString()
  record.level ??= stream === 'stderr' && !parsed ? 'error' : 'info'
  return record
}

/** Levels of supervisor events that mean trouble; every other event is `info`. */
const EVENT_LEVELS: Record<string, string> = {
  crashed: 'warn',
  'rolled-back': 'warn',
  refused: 'warn',
  'crash-loop': 'error',
}

/** A supervisor event as a record of the unit's log: the event itself under `event`. */
export function supervisorRecord(
  event: { type: string; unit: string },
  msg: string,
  now: Date = new Date(),
): LogRecord {
  return {
    time: now.toISOString(),
    level: EVENT_LEVELS[event.type] ?? 'info',
    instance: 'supervisor',
    unit: event.unit,
    msg,
    event,
  }
}

/** pino's level numbers; records may carry either the name or the number. */
export const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const
export type LevelName = keyof typeof LEVELS

/** A record's level as a number (names and pino numbers), or undefined when it has none. */
export function levelValue(level: unknown): number | undefined {
  if (typeof level === 'number') return level
  if (typeof level === 'string' && Object.hasOwn(LEVELS, level)) return LEVELS[level as LevelName]
  return undefined
}

/** A level number's name (`40` → `warn`), or the value as text. */
export function levelName(level: unknown): string {
  const n = levelValue(level)
  if (n === undefined) return typeof level === 'string' ? level : '-'
  const names = Object.keys(LEVELS) as LevelName[]
  return names.reduce((best, name) => (LEVELS[name] <= n ? name : best), 'trace' as LevelName)
}
