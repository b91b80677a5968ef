import { isTesseraError, TesseraError } from '../../errors/index.ts'
import { type LogFilter, parseLevel, parseSince } from './log-filter.ts'
import type { LogRecord } from './log-record.ts'
import { logUnits, readLogs } from './read-logs.ts'

const DEFAULT_LIMIT = 200
const MAX_LIMIT = 5_000

/**
 * `GET /logs?unit=&level=&requestId=&traceId=&since=&limit=` of the control API: the
 * newest `limit` (default 200, at most 5000) matching records, oldest first, as
 * `{ records: [...] }` (each has its `unit`). `unit` may repeat or be comma-separated;
 * none means every unit. A bad parameter answers 400 `{ code, message }`.
 */
export async function logsRoute(
  logsDir: string,
  query: URLSearchParams,
): Promise<{ status: number; body: unknown }> {
  try {
    const filter: LogFilter = {}
    const level = query.get('level')
    if (level) filter.level = parseLevel(level)
    const requestId = query.get('requestId')
    if (requestId) filter.requestId = requestId
    const traceId = query.get('traceId')
    if (traceId) filter.traceId = traceId
    const since = query.get('since')
    if (since) filter.since = parseSince(since)
    const limit = limitOf(query.get('limit'))
    const asked = query
      .getAll('unit')
      .flatMap((u) => u.split(','))
      .filter((u) => u !== '')
    const known = await logUnits(logsDir)
    const unknown = asked.filter((u) => !known.includes(u))
    if (unknown.length > 0)
      throw new TesseraError('NOT_FOUND', `no logs for ${unknown.join(', ')}`, { units: known })
    const entries = await readLogs(logsDir, { ...(asked.length ? { units: asked } : {}), filter, limit })
    const records: LogRecord[] = entries.map((e) => ({ ...e.record, unit: e.record.unit ?? e.unit }))
    return { status: 200, body: { records } }
  } catch (err) {
    if (!isTesseraError(err)) throw err
    return { status: err.status, body: { code: err.code, message: err.message, data: err.data ?? null } }
  }
}

function limitOf(text: string | null): number {
  if (text === null || text === '') return DEFAULT_LIMIT
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT)
    throw new TesseraError('BAD_REQUEST', `limit must be an integer from 1 to ${MAX_LIMIT}, not "${text}"`)
  return n
}
