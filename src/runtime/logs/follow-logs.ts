import { open, stat } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { unitLogPath } from './log-files.ts'
import { type LogFilter, matchesFilter, mayMatchLine } from './log-filter.ts'
import { parseLogLine } from './log-record.ts'
import { type LogEntry, logUnits, mergeByTime, readLogs } from './read-logs.ts'

export interface FollowLogsOptions {
  /** Units to follow; default every unit, including ones whose log appears later. */
  units?: readonly string[]
  filter?: LogFilter
  /** First yield the newest this many matching lines already there (default 0: only new ones). */
  last?: number
  /** Ends the iteration (the iterator then returns). */
  signal?: AbortSignal
  /** How often the files are checked for new lines; default 250 ms. */
  intervalMs?: number
}

/** Where reading a unit's current file goes on: which file (inode) and how far. */
interface Cursor {
  ino: number | undefined
  offset: number
}

/**
 * Yields the lines appended to the units' logs from now on that match the filter, as
 * they arrive (checked every `intervalMs`; each round's lines in time order), until
 * `signal` aborts or the consumer stops (`break`). A file that was rotated meanwhile is
 * read to its end under its new name (`.log.1`) before the new one, so no line is lost
 * across a rotation. With `last`, the existing tail comes first, up to exactly where
 * following starts (no gap, no repeat).
 *
 * @example
 * for await (const { unit, record } of followLogs(sup.logsDir, { filter: { level: 'warn' }, signal }))
 *   show(unit, record)
 */
export async function* followLogs(dir: string, options: FollowLogsOptions = {}): AsyncGenerator<LogEntry> {
  const filter = options.filter ?? {}
  const intervalMs = options.intervalMs ?? 250
  const cursors = new Map<string, Cursor>()
  const units = async () => options.units ?? (await logUnits(dir))
  for (const unit of await units()) cursors.set(unit, await cursorAtEnd(unitLogPath(dir, unit)))
  if (options.last) {
    const ends = new Map([...cursors].map(([unit, c]) => [unit, c.offset]))
    yield* await readLogs(dir, { units: [...cursors.keys()], filter, limit: options.last, ends })
  }
  while (!options.signal?.aborted) {
    try {
      await sleep(intervalMs, undefined, options.signal ? { signal: options.signal } : {})
    } catch {
      return // aborted
    }
    for (const unit of await units()) if (!cursors.has(unit)) cursors.set(unit, { ino: undefined, offset: 0 })
    const rounds = await Promise.all(
      [...cursors].map(([unit, cursor]) => readNew(unitLogPath(dir, unit), unit, cursor, filter)),
    )
    yield* mergeByTime(rounds)
  }
}

async function cursorAtEnd(path: string): Promise<Cursor> {
  const s = await stat(path).catch(() => undefined)
  return s ? { ino: s.ino, offset: s.size } : { ino: undefined, offset: 0 }
}

/** The complete lines added since `cursor` (moved past them), the rest of a rotated file first. */
async function readNew(path: string, unit: string, cursor: Cursor, filter: LogFilter): Promise<LogEntry[]> {
  const now = await stat(path).catch(() => undefined)
  if (!now) return []
  const lines: string[] = []
  if (cursor.ino !== undefined && now.ino !== cursor.ino) {
    const old = await stat(`${path}.1`).catch(() => undefined)
    if (old?.ino === cursor.ino)
      lines.push(...(await readFrom(`${path}.1`, cursor.offset, old.size, true)).lines)
    cursor.offset = 0
  } else if (now.size < cursor.offset) {
    cursor.offset = 0 // truncated
  }
  cursor.ino = now.ino
  if (now.size > cursor.offset) {
    const read = await readFrom(path, cursor.offset, now.size, false)
    lines.push(...read.lines)
    cursor.offset += read.consumed
  }
  const entries: LogEntry[] = []
  for (const line of lines) {
    if (line === '' || !mayMatchLine(line, filter)) continue
    const record = parseLogLine(line) ?? { msg: line }
    if (matchesFilter(record, filter)) entries.push({ unit, line, record })
  }
  return entries
}

/**
 * The lines between `from` and `to`. Only complete lines count (`consumed` stops after
 * the last newline), unless `all`: a rotated file gets no more bytes, so its tail is whole.
 */
async function readFrom(
  path: string,
  from: number,
  to: number,
  all: boolean,
): Promise<{ lines: string[]; consumed: number }> {
  if (to <= from) return { lines: [], consumed: 0 }
  const handle = await open(path, 'r').catch(() => undefined)
  if (!handle) return { lines: [], consumed: 0 }
  try {
    const buf = Buffer.alloc(to - from)
    const { bytesRead } = await handle.read(buf, 0, buf.length, from)
    const data = buf.subarray(0, bytesRead)
    const end = all ? data.length : data.lastIndexOf(0x0a) + 1
    const text = data.subarray(0, end).toString('utf8')
    return { lines: text.split('\n').filter((l) => l !== ''), consumed: end }
  } finally {
    await handle.close()
  }
}
