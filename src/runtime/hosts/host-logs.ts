import { TesseraError } from '../../errors/index.ts'
import { type LevelName, type LogFilter, parseLevel, parseLogLine, readLogs } from '../logs/index.ts'

/** What `tessera logs` asks of a system over many hosts: the filter of one host's `readLogs`. */
export interface LogsQuery {
  /** Units to read; none: every unit with a log. */
  units?: string[]
  level?: LevelName
  requestId?: string
  traceId?: string
  /** ms since the epoch. */
  since?: number
  /** The newest this many matching lines over every host; default (and at most) 5,000. */
  limit?: number
}

/** Lines of every host, oldest first, and what could not be had (a host that did not answer, a cut reply). */
export interface SystemLogs {
  lines: string[]
  notes: string[]
}

/** One host's answer to the agent operation `logs`. */
export interface HostLogs {
  lines: string[]
  /** True when older matching lines were left out to keep the reply under `maxBytes`. */
  cut: boolean
}

const MAX_LINES = 5_000

/**
 * A query from an untrusted body (the control API's, an agent request's): each field
 * checked, unknown ones ignored. Throws BAD_REQUEST naming the field.
 */
export function logsQueryOf(body: Record<string, unknown>): LogsQuery {
  const q: LogsQuery = {}
  const bad = (field: string, want: string) =>
    new TesseraError('BAD_REQUEST', `logs: ${field} must be ${want}`, { field })
  if (body.units !== undefined) {
    if (!Array.isArray(body.units) || !body.units.every((u) => typeof u === 'string'))
      throw bad('units', 'a list of unit names')
    q.units = body.units as string[]
  }
  if (body.level !== undefined) q.level = parseLevel(String(body.level))
  for (const field of ['requestId', 'traceId'] as const) {
    const v = body[field]
    if (v === undefined) continue
    if (typeof v !== 'string') throw bad(field, 'a string')
    q[field] = v
  }
  if (body.since !== undefined) {
    if (typeof body.since !== 'number' || !Number.isFinite(body.since)) throw bad('since', 'a time in ms')
    q.since = body.since
  }
  if (body.limit !== undefined) {
    if (typeof body.limit !== 'number' || !Number.isInteger(body.limit) || body.limit < 0)
      throw bad('limit', 'a whole number')
    q.limit = body.limit
  }
  return q
}

/**
 * This host's matching lines (its `<stateDir>/hosts/<host>/logs/`), newest `limit` (at most
 * 5,000), then as many of the newest as fit `maxBytes` so the reply fits a NATS message.
 * Each line says where it was filed: `host` added, and the instance label given the host
 * as status shows it (`counter#1` → `counter#1@b`), since every host numbers its own.
 */
export async function hostLogs(
  logsDir: string,
  host: string,
  query: LogsQuery,
  maxBytes: number,
): Promise<HostLogs> {
  const filter: LogFilter = {}
  if (query.level) filter.level = query.level
  if (query.requestId) filter.requestId = query.requestId
  if (query.traceId) filter.traceId = query.traceId
  if (query.since !== undefined) filter.since = query.since
  const limit = Math.min(query.limit ?? MAX_LINES, MAX_LINES)
  const entries = await readLogs(logsDir, {
    ...(query.units?.length ? { units: query.units } : {}),
    filter,
    limit,
  })
  const lines = entries.map((e) => tagged(e.line, host))
  let bytes = 0
  let first = lines.length
  while (first > 0 && bytes + lines[first - 1]!.length + 8 <= maxBytes) {
    first--
    bytes += lines[first]!.length + 8
  }
  return { lines: lines.slice(first), cut: first > 0 }
}

function tagged(line: string, host: string): string {
  const record = parseLogLine(line)
  if (record === undefined) return JSON.stringify({ msg: line, host })
  const instance = record.instance
  const label = typeof instance === 'string' && !instance.includes('@') ? `${instance}@${host}` : instance
  return JSON.stringify({ ...record, ...(label === undefined ? {} : { instance: label }), host })
}

/**
 * Every host's lines merged by their time (a line without one keeps its place after the
 * line before it on its host), the newest `limit`. `asks` are the other hosts' answers;
 * one that failed becomes a note, so the lines of the hosts that answered still show.
 */
export async function mergeHostLogs(
  own: { host: string; logs: HostLogs },
  asks: { host: string; answer: Promise<HostLogs> }[],
  limit = MAX_LINES,
): Promise<SystemLogs> {
  const notes: string[] = []
  const per: { host: string; logs: HostLogs }[] = [own]
  for (const { host, answer } of asks) {
    try {
      per.push({ host, logs: await answer })
    } catch (err) {
      notes.push(`host ${host}: no logs (${(err as Error).message})`)
    }
  }
  const keyed: { at: number; seq: number; line: string }[] = []
  let seq = 0
  for (const { host, logs } of per) {
    if (logs.cut)
      notes.push(`host ${host}: only its newest ${logs.lines.length} lines (narrow with -n or --since)`)
    let at = Number.NEGATIVE_INFINITY
    for (const line of logs.lines) {
      const t = parseLogLine(line)?.time
      const ms = typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : Number.NaN
      if (Number.isFinite(ms)) at = ms
      keyed.push({ at, seq: seq++, line })
    }
  }
  keyed.sort((a, b) => a.at - b.at || a.seq - b.seq)
  return { lines: keyed.slice(-Math.min(limit, MAX_LINES)).map((k) => k.line), notes }
}
