/**
 * A stand-in for the outside exchange-rate API the quotes service calls, for tests and
 * local runs: `GET /rates/:currency` → `{ currency, rate, asOf }` (rates per 1 USD).
 * It can be made slow or failing, in-process (`setMode`) or over HTTP
 * (`POST /_control/mode/ok|slow|fail`).
 *
 * Standalone: `npx tsx examples/reference/fake-quotes-api.ts` (PORT, default 4010), then
 * `QUOTES_API_URL=http://127.0.0.1:4010`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'

export type FakeApiMode = 'ok' | 'slow' | 'fail'

export const FAKE_RATES: Readonly<Record<string, number>> = {
  EUR: 0.92,
  GBP: 0.79,
  JPY: 151.2,
  CHF: 0.88,
  USD: 1,
}

export interface FakeQuotesApi extends AsyncDisposable {
  readonly url: string
  /** Requests to `/rates/*` received so far. */
  readonly requests: number
  /** `slow` answers after `slowMs`; `fail` answers 503 at once. */
  setMode(mode: FakeApiMode, slowMs?: number): void
  close(): Promise<void>
}

/** Starts the fake on 127.0.0.1 (port 0 = a free one); `close()` also cuts open connections. */
export async function startFakeQuotesApi(
  options: { port?: number; slowMs?: number } = {},
): Promise<FakeQuotesApi> {
  let mode: FakeApiMode = 'ok'
  let slowMs = options.slowMs ?? 5_000
  let requests = 0

  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake')
    const control = /^\/_control\/mode\/(ok|slow|fail)$/.exec(url.pathname)
    if (req.method === 'POST' && control) {
      mode = control[1] as FakeApiMode
      return send(res, 200, { mode })
    }
    const rate = /^\/rates\/([A-Z]{3})$/.exec(url.pathname)
    if (req.method !== 'GET' || !rate) return send(res, 404, { error: 'not found' })
    requests++
    const currency = rate[1]!
    const reply = () => {
      if (mode === 'fail') return send(res, 503, { error: 'rates unavailable' })
      const value = FAKE_RATES[currency]
      if (value === undefined) return send(res, 404, { error: `unknown currency ${currency}` })
      send(res, 200, { currency, rate: value, asOf: new Date().toISOString() })
    }
    if (mode !== 'slow') return reply()
    const timer = setTimeout(reply, slowMs)
    // The client gave up (its timeout): drop the pending answer so no timer outlives the test.
    res.once('close', () => clearTimeout(timer))
  }

  const server = createServer(answer)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const api: FakeQuotesApi = {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests
    },
    setMode(next, ms) {
      mode = next
      if (ms !== undefined) slowMs = ms
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
    [Symbol.asyncDispose]: () => api.close(),
  }
  return api
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const api = await startFakeQuotesApi({ port: Number(process.env.PORT ?? 4010) })
  console.log(`fake quotes API on ${api.url} (POST ${api.url}/_control/mode/ok|slow|fail)`)
  process.once('SIGINT', () => void api.close())
  process.once('SIGTERM', () => void api.close())
}
