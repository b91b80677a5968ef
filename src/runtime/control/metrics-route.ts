import type { ServerResponse } from 'node:http'
import type { Supervisor } from '../supervisor/index.ts'

/**
 * `GET /metrics`: the system's Prometheus exposition (`Supervisor.metrics`), behind the
 * control API's token like every other route. Takes about 1 s at most, whichever
 * instance hangs. A failure to render answers 500 with the message as text.
 */
export async function serveMetrics(sup: Supervisor, res: ServerResponse): Promise<void> {
  try {
    const { contentType, text } = await sup.metrics()
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' })
    res.end(text)
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
    res.end(`metrics failed: ${(err as Error)?.message ?? String(err)}\n`)
  }
}
