import { join } from 'node:path'
import { InvalidArgumentError } from 'commander'
import {
  followLogs,
  formatLogRecord,
  type LevelName,
  type LogEntry,
  type LogFilter,
  logUnits,
  parseLevel,
  parseSince,
  readControlState,
  readLogs,
} from '../../runtime/index.ts'
import { out } from '../output.ts'
import { type StateOptions, stateDirOf } from '../state.ts'
import { systemLogs } from './system-logs.ts'

export interface LogsOptions extends StateOptions {
  follow?: boolean
  json?: boolean
  level?: LevelName
  requestId?: string
  traceId?: string
  since?: number
  lines?: number
}

/**
 * `tessera logs [unit...]`: the lines of `<stateDir>/logs/<unit>.log` (and its rotated
 * `.log.1`), of every unit when none is named, merged by time and filtered; one readable
 * line each (`formatLogRecord`), or the raw JSON lines with `--json`. `-f` then keeps
 * printing what is appended (filtered the same way, also across a rotation). Works whether
 * or not the system is running. Naming a unit that has no log fails, unless following
 * (its log may appear later).
 *
 * With `--host` (a system over many hosts) and that host's agent running, the lines are
 * every host's: the agent reads its own and asks each other live host's agent for theirs
 * (docs/hosts.md), merged by time; a host that does not answer is said on stderr. `-f`
 * then asks it again every second for what is new (system-logs.ts).
 */
export async function logs(names: string[], options: LogsOptions): Promise<void> {
  const stateDir = await stateDirOf(options)
  if (options.host ?? process.env.TESSERA_HOST) {
    const state = await readControlState(stateDir).catch(() => undefined)
    if (state) return systemLogs(state, names, options)
  }
  const dir = join(stateDir, 'logs')
  const known = await logUnits(dir)
  const unknown = names.filter((n) => !known.includes(n))
  if (unknown.length > 0 && !options.follow) {
    const have = known.length > 0 ? `units with logs: ${known.join(', ')}` : `none in ${dir} yet`
    throw new Error(`no logs for ${unknown.join(', ')} (${have})`)
  }
  const filter: LogFilter = {}
  if (options.level) filter.level = options.level
  if (options.requestId) filter.requestId = options.requestId
  if (options.traceId) filter.traceId = options.traceId
  if (options.since !== undefined) filter.since = options.since
  const units = names.length > 0 ? { units: names } : {}
  const print = (e: LogEntry) => out.line(options.json ? e.line : formatLogRecord(e.record))
  if (!options.follow) {
    for (const entry of await readLogs(dir, { ...units, filter, ...limit(options) })) print(entry)
    return
  }
  const last = options.lines ?? Number.POSITIVE_INFINITY
  for await (const entry of followLogs(dir, { ...units, filter, last })) print(entry)
}

function limit(options: LogsOptions): { limit?: number } {
  return options.lines === undefined ? {} : { limit: options.lines }
}

/** commander parsers: a bad value is a usage error naming the option and what it takes. */
export const logsArgs = {
  level: (text: string): LevelName => usage(() => parseLevel(text)),
  since: (text: string): number => usage(() => parseSince(text)),
  lines: (text: string): number => {
    const n = Number(text)
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number of lines')
    return n
  },
}

function usage<T>(parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
}
