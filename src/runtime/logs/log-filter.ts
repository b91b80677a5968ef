import { TesseraError } from '../../errors/index.ts'
import { LEVELS, type LevelName, type LogRecord, levelValue } from './log-record.ts'

/** Which records to keep; every field given must match. */
export interface LogFilter {
  /** This level and above (`warn` keeps warn, error and fatal); records without a level drop out. */
  level?: LevelName
  requestId?: string
  traceId?: string
  /** Epoch ms: records from this time on (records without a time drop out). */
  since?: number
}

/** True when `record` passes `filter`. */
export function matchesFilter(record: LogRecord, filter: LogFilter): boolean {
  if (filter.requestId !== undefined && record.requestId !== filter.requestId) return false
  if (filter.traceId !== undefined && record.traceId !== filter.traceId) return false
  if (filter.level !== undefined && !((levelValue(record.level) ?? -1) >= LEVELS[filter.level])) return false
  if (filter.since !== undefined && !((timeOf(record) ?? -1) >= filter.since)) return false
  return true
}

/**
 * Cheap test on the raw line before parsing it: a line that does not even contain the
 * id asked for cannot match (most lines, when looking for one request).
 */
export function mayMatchLine(line: string, filter: LogFilter): boolean {
  if (filter.requestId !== undefined && !line.includes(filter.requestId)) return false
  if (filter.traceId !== undefined && !line.includes(filter.traceId)) return false
  return true
}

/** A record's `time` as epoch ms (ISO text or a number), or undefined. */
export function timeOf(record: LogRecord): number | undefined {
  const t = record.time
  const ms = typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : Number.NaN
  return Number.isFinite(ms) ? ms : undefined
}

/** `warn` → `warn`; anything that is not a level name is a BAD_REQUEST naming the choices. */
export function parseLevel(text: string): LevelName {
  const name = text.toLowerCase()
  if (Object.hasOwn(LEVELS, name)) return name as LevelName
  throw new TesseraError(
    'BAD_REQUEST',
    `level must be one of ${Object.keys(LEVELS).join(', ')}, not "${text}"`,
  )
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * `--since`: a duration back from `now` (`90s`, `15m`, `2h`, `1d`, `500ms`, combined as
 * `1h30m`) or an ISO 8601 time. Returns epoch ms; anything else is a BAD_REQUEST.
 */
export function parseSince(text: string, now = Date.now()): number {
  const trimmed = text.trim()
  if (/^(\d+(ms|s|m|h|d))+$/.test(trimmed)) {
    let total = 0
    for (const [, n, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(n) * UNITS[unit!]!
    return now - total
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const at = Date.parse(trimmed)
    if (Number.isFinite(at)) return at
  }
  throw new TesseraError(
    'BAD_REQUEST',
    `since must be a duration such as 30s, 15m, 2h, 1d (or an ISO time), not "${text}"`,
  )
}
