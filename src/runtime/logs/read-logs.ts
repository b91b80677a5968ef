import { type FileHandle, open, readdir } from 'node:fs/promises'
import { unitLogPath } from './log-files.ts'
import { type LogFilter, matchesFilter, mayMatchLine, timeOf } from './log-filter.ts'
import { type LogRecord, parseLogLine } from './log-record.ts'

/** One line of a unit's log: the raw text as filed and its record. */
export interface LogEntry {
  unit: string
  /** The line as filed (a JSON object; older or foreign lines as they are). */
  line: string
  /** The parsed line; a line that is not JSON reads as `{ msg: line }`. */
  record: LogRecord
}

export interface ReadLogsOptions {
  /** Units to read (file names under the logs dir); default every unit with a log. */
  units?: readonly string[]
  filter?: LogFilter
  /** The newest this many matching lines (over all units); default all. */
  limit?: number
  /** Per unit, read its current file only up to this byte (where `followLogs` starts). */
  ends?: ReadonlyMap<string, number>
}

/**
 * The matching lines of the units' logs, oldest first, merged across units by time:
 * the rotated file (`<unit>.log.1`) then the current one. Reads each file backwards in
 * chunks and stops at `limit` matches (or, with `since`, once past it), so the tail of a
 * big log costs only its tail. Missing files read as empty. A line being written while
 * the file rotates may be missed: this reads, it does not lock.
 *
 * @example
 * const last = await readLogs(sup.logsDir, { units: ['users'], filter: { level: 'warn' }, limit: 100 })
 */
export async function readLogs(dir: string, options: ReadLogsOptions = {}): Promise<LogEntry[]> {
  const units = options.units ?? (await logUnits(dir))
  const filter = options.filter ?? {}
  const limit = options.limit ?? Number.POSITIVE_INFINITY
  if (limit <= 0) return []
  const perUnit = await Promise.all(
    units.map((unit) => readUnit(dir, unit, filter, limit, options.ends?.get(unit))),
  )
  return mergeByTime(perUnit).slice(-limit)
}

/** The units that have a log file (current or rotated) in `dir`, sorted. */
export async function logUnits(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  const units = new Set<string>()
  for (const name of names) {
    const m = /^(.+)\.log(\.1)?$/.exec(name)
    if (m) units.add(m[1]!)
  }
  return [...units].sort()
}

/** Slack for `since`: lines of different instances reach the file a little out of time order. */
const SINCE_SLACK_MS = 5_000

async function readUnit(
  dir: string,
  unit: string,
  filter: LogFilter,
  limit: number,
  end: number | undefined,
): Promise<LogEntry[]> {
  const found: LogEntry[] = []
  const path = unitLogPath(dir, unit)
  for (const [file, upTo] of [
    [path, end],
    [`${path}.1`, undefined],
  ] as const) {
    for await (const line of linesBackward(file, upTo)) {
      if (line === '' || !mayMatchLine(line, filter)) continue
      const record = parseLogLine(line) ?? { msg: line }
      if (filter.since !== undefined) {
        const t = timeOf(record)
        if (t !== undefined && t < filter.since - SINCE_SLACK_MS) return found.reverse()
      }
      if (!matchesFilter(record, filter)) continue
      found.push({ unit, line, record })
      if (found.length >= limit) return found.reverse()
    }
  }
  return found.reverse()
}

const CHUNK = 64 * 1024

/** The lines of a file from the last to the first (a missing file has none). */
export async function* linesBackward(file: string, end?: number): AsyncGenerator<string> {
  let handle: FileHandle
  try {
    handle = await open(file, 'r')
  } catch {
    return
  }
  try {
    let pos = Math.min(end ?? Number.POSITIVE_INFINITY, (await handle.stat()).size)
    // Bytes after the last newline seen so far, i.e. the start of a line not yet complete.
    let rest = Buffer.alloc(0)
    while (pos > 0) {
      const size = Math.min(CHUNK, pos)
      pos -= size
      const chunk = Buffer.alloc(size)
      await handle.read(chunk, 0, size, pos)
      // A newline byte never occurs inside a multi-byte UTF-8 character: cutting at it is safe.
      let buf = rest.length > 0 ? Buffer.concat([chunk, rest]) : chunk
      let cut = buf.lastIndexOf(0x0a)
      while (cut !== -1) {
        const line = buf.subarray(cut + 1)
        if (line.length > 0) yield line.toString('utf8')
        buf = buf.subarray(0, cut)
        cut = buf.lastIndexOf(0x0a)
      }
      rest = Buffer.from(buf)
    }
    if (rest.length > 0) yield rest.toString('utf8')
  } finally {
    await handle.close()
  }
}

/**
 * Units' entries (each oldest first) as one list in time order. A line without a time
 * takes the time of the line before it in its file, so it stays where it was.
 */
export function mergeByTime(lists: readonly LogEntry[][]): LogEntry[] {
  if (lists.length === 1) return lists[0]!
  const keyed: { at: number; seq: number; entry: LogEntry }[] = []
  let seq = 0
  for (const list of lists) {
    let at = Number.NEGATIVE_INFINITY
    for (const entry of list) {
      at = timeOf(entry.record) ?? at
      keyed.push({ at, seq: seq++, entry })
    }
  }
  keyed.sort((a, b) => a.at - b.at || a.seq - b.seq)
  return keyed.map((k) => k.entry)
}
