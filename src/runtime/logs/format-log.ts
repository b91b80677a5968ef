import { type LogRecord, levelName } from './log-record.ts'

/** Fields every line has or that the pretty line shows in its own place. */
const SHOWN = new Set(['time', 'level', 'instance', 'unit', 'service', 'node', 'msg', 'stream'])

/**
 * A record as one line for people: `HH:MM:SS.mmm instance LEVEL msg key=value…` (time in
 * UTC, like pino-pretty). The other fields follow as `key=value` (JSON for objects and
 * strings with spaces), `requestId` and `traceId` first; a line that never was JSON
 * prints as it was. A multi-line `msg` or `err.stack` stays on one line (`\n` escaped).
 *
 * @example
 * formatLogRecord({ time: '2025-01-01T10:00:00.000Z', level: 'warn', instance: 'users#2', msg: 'slow', ms: 900 })
 * // '10:00:00.000 users#2 WARN  slow ms=900'
 */
export function formatLogRecord(record: LogRecord): string {
  if (record.level === undefined && record.time === undefined && record.instance === undefined)
    return String(record.msg ?? '')
  const time =
    typeof record.time === 'string' ? (record.time.split('T')[1] ?? record.time).replace(/Z$/, '') : '-'
  const level = levelName(record.level).toUpperCase().padEnd(5)
  const parts = [
    time,
    String(record.instance ?? record.unit ?? '-'),
    level,
    oneLine(String(record.msg ?? '')),
  ]
  const keys = Object.keys(record).filter((k) => !SHOWN.has(k) && record[k] !== undefined)
  keys.sort((a, b) => rank(a) - rank(b))
  for (const key of keys) parts.push(`${key}=${show(record[key])}`)
  return parts.join(' ')
}

function rank(key: string): number {
  return key === 'requestId' ? 0 : key === 'traceId' ? 1 : 2
}

function show(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value
  return oneLine(JSON.stringify(value) ?? String(value))
}

function oneLine(text: string): string {
  return text.replace(/\r?\n/g, '\\n')
}
