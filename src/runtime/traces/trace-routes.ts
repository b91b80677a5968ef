import type { ServerResponse } from 'node:http'
import type { TraceQuery, TraceStore } from './trace-store.ts'

/**
 * The control API's trace routes, over the supervisor's store:
 * `GET /traces?service=&status=&requestId=&minDurationMs=&limit=&order=newest|slowest`
 * → `{ traces: TraceSummary[] }`; `GET /traces/<traceId>` → `{ traceId, spans }` or 404.
 * Returns false for any other path (the caller goes on with its own routes).
 */
export function serveTraces(store: TraceStore, url: URL, res: ServerResponse): boolean {
  const path = url.pathname
  if (path === '/traces') {
    json(res, 200, { traces: store.list(queryOf(url.searchParams)) })
    return true
  }
  if (!path.startsWith('/traces/')) return false
  const traceId = path.slice('/traces/'.length)
  const spans = /^[0-9a-f]{32}$/.test(traceId) ? store.get(traceId) : undefined
  if (!spans) json(res, 404, { code: 'NOT_FOUND', message: `no trace ${traceId} is kept` })
  else json(res, 200, { traceId, spans })
  return true
}

function queryOf(params: URLSearchParams): TraceQuery {
  const q: TraceQuery = {}
  const service = params.get('service')
  if (service) q.service = service
  const status = params.get('status')
  if (status === 'ok' || status === 'error') q.status = status
  const requestId = params.get('requestId')
  if (requestId) q.requestId = requestId
  const min = Number(params.get('minDurationMs'))
  if (params.has('minDurationMs') && Number.isFinite(min)) q.minDurationMs = min
  const limit = Number(params.get('limit'))
  if (params.has('limit') && Number.isFinite(limit)) q.limit = limit
  if (params.get('order') === 'slowest') q.order = 'slowest'
  return q
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}
