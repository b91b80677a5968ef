import { setTimeout as sleep } from 'node:timers/promises'
import { controlClient, formatLogRecord, type LevelName, type LogEntry } from '../../runtime/index.ts'
import { out } from '../output.ts'

/** What `tessera logs --host` asks of the host's agent (POST /logs, docs/hosts.md). */
export interface SystemLogsOptions {
  json?: boolean
  follow?: boolean
  level?: LevelName
  requestId?: string
  traceId?: string
  since?: number
  lines?: number
}

/** How far back each poll of `-f` reads again (lines of hosts reach their files a little out of order). */
const OVERLAP_MS = 10_000
const POLL_MS = 1000

/**
 * The lines of every host of a system over many hosts, through this host's agent: once,
 * or with `follow` polled every second for what is new (each poll reads the last 10 s
 * again and prints only lines not printed yet, so a line is printed once even when hosts'
 * clocks or files lag a little; two identical lines within that window print once).
 * Until SIGINT. A host's note (no answer, a cut reply) is printed when it changes.
 */
export async function systemLogs(
  state: { port: number; token: string },
  names: string[],
  options: SystemLogsOptions,
): Promise<void> {
  const client = controlClient(state)
  const base = {
    ...(names.length > 0 ? { units: names } : {}),
    ...(options.level ? { level: options.level } : {}),
    ...(options.requestId ? { requestId: options.requestId } : {}),
    ...(options.traceId ? { traceId: options.traceId } : {}),
  }
  const ask = async (query: Record<string, unknown>) =>
    (await client.run('logs', { ...base, ...query })) as { lines: string[]; notes: string[] }
  let notes = ''
  const printed = new Map<string, number>()
  let newest = Number.NEGATIVE_INFINITY
  // Polls print nothing older than where the first answer ended (or than the start): the
  // lines of the overlap that `-n` left out stay out.
  let floor = Number.NEGATIVE_INFINITY
  const show = (got: { lines: string[]; notes: string[] }) => {
    if (got.notes.join('\n') !== notes) for (const note of got.notes) out.error(`tessera: ${note}`)
    notes = got.notes.join('\n')
    for (const line of got.lines) {
      if (printed.has(line)) continue
      const record = recordOf(line)
      const at = timeOf(record) ?? newest
      if (at < floor) continue
      newest = Math.max(newest, at)
      if (options.follow) printed.set(line, at)
      out.line(options.json ? line : formatLogRecord(record))
    }
    for (const [line, at] of printed) if (at < newest - 2 * OVERLAP_MS) printed.delete(line)
  }
  const startedAt = Date.now()
  show(
    await ask({
      ...(options.since !== undefined ? { since: options.since } : {}),
      ...(options.lines !== undefined ? { limit: options.lines } : {}),
    }),
  )
  if (!options.follow) return
  floor = Number.isFinite(newest) ? newest : startedAt
  newest = Math.max(newest, startedAt)
  // A poll that fails (the agent busy or restarting) is said once and tried again: a
  // follower runs until SIGINT, not until the first slow answer.
  let failing = ''
  for (;;) {
    await sleep(POLL_MS)
    try {
      show(await ask({ since: newest - OVERLAP_MS }))
      failing = ''
    } catch (err) {
      const why = (err as Error).message
      if (why !== failing) out.error(`tessera: logs: ${why}; asking again every second`)
      failing = why
    }
  }
}

// A line as filed is a JSON object; anything else reads as its text (as readLogs does).
function recordOf(line: string): LogEntry['record'] {
  try {
    const value: unknown = JSON.parse(line)
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as LogEntry['record']
  } catch {}
  return { msg: line }
}

function timeOf(record: LogEntry['record']): number | undefined {
  const t = record.time
  const ms = typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : Number.NaN
  return Number.isFinite(ms) ? ms : undefined
}
