import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { isTesseraError, TesseraError } from '../../errors/index.ts'
import type { ServiceConfig } from '../config/index.ts'
import { createDashboard } from '../dashboard/index.ts'
import { logsRoute } from '../logs/index.ts'
import { type ContractMismatch, type Progress, type Supervisor, watchContracts } from '../supervisor/index.ts'
import { serveTraces } from '../traces/index.ts'
import { deadLetterOps } from './dead-letters.ts'
import { serveMetrics } from './metrics-route.ts'

export interface ControlServerOptions {
  supervisor: Supervisor
  /** Default: a free port. Always bound to 127.0.0.1. */
  port?: number
  /** Default: 32 random bytes, hex. */
  token?: string
  /** Called after a `POST /down` has drained the system (e.g. to exit the process). */
  onDown?: () => void
  /**
   * More operations, by path (`/move` of a system over many hosts, src/runtime/hosts):
   * same body, progress and answer as the others; they cannot replace a built-in one.
   */
  routes?: Record<string, (body: Record<string, unknown>, progress: Progress) => Promise<unknown>>
  /**
   * Each instance that joins with a contract breaking the running version's, once
   * (contract-watch.ts); `tessera up` prints it as a `contract-mismatch` event.
   * `POST /contracts` lists the recent ones either way.
   */
  onContractMismatch?: (mismatch: ContractMismatch) => void
}

export interface ControlServer extends AsyncDisposable {
  readonly port: number
  readonly token: string
  close(): Promise<void>
}

type Body = Record<string, unknown>
type Route = (body: Body, progress: Progress) => Promise<unknown>

/**
 * The control API on 127.0.0.1. Every request needs `Authorization: Bearer <token>`
 * or a dashboard session (401 otherwise); the dashboard itself is served at `/`.
 * `GET /status` answers JSON. Operations are `POST` with a JSON body and answer NDJSON:
 * `{"type":"progress","message"}` lines as they happen, then one `{"type":"done","result"}`
 * or `{"type":"error","code","message"}`. A client that disconnects does not cancel the
 * operation.
 *
 * | route | body |
 * |---|---|
 * | POST /scale | `{ unit, instances }` |
 * | POST /restart, /deploy, /remove | `{ unit }` (`/restart` and `/deploy` also `force`) |
 * | POST /diff | `{ unit }` → the contract diffs a deploy would make (`ContractDiff[]`) |
 * | POST /stop-instance | `{ instance, kill? }` (a label, `users#2`; SIGKILL with kill) |
 * | POST /add | `{ name, service }` (a service config) |
 * | POST /call | `{ service, action, input, timeoutMs? }` |
 * | POST /down | `{}` |
 * | POST /dead | `{ service? }` → dead letters, oldest first (`DeadEvent[]`) |
 * | POST /dead-event | `{ key }` → one dead letter; NOT_FOUND if there is none |
 * | POST /replay | `{ keys }` or `{ all: true, service? }` → `{ done, notFound }` |
 * | POST /discard | `{ keys }` → `{ done, notFound }` |
 * | POST /contracts | `{}` → instances that joined with a breaking contract (`ContractMismatch[]`) |
 *
 * The dead-letter routes answer BAD_REQUEST when the system's transport has no durable
 * events (dead-letters.ts).
 */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const sup = options.supervisor
  const token = options.token ?? randomBytes(32).toString('hex')
  // The web dashboard's pages, login and catalog (src/runtime/dashboard/); its session
  // cookie (+ CSRF header on POST) is accepted wherever the bearer token is.
  const dashboard = createDashboard({ supervisor: sup, token })
  const dead = deadLetterOps(sup)
  // Instances joining without a deploy are compared with the running contract while the API runs.
  const contracts = watchContracts({
    registry: sup.caller.registry,
    status: () => sup.status(),
    onMismatch: (m) => options.onContractMismatch?.(m),
  })
  const routes: Record<string, Route> = {
    ...options.routes,
    '/scale': (b, p) => sup.scale(str(b, 'unit'), int(b, 'instances'), p),
    '/restart': (b, p) => sup.restart(str(b, 'unit'), p, { force: b.force === true }),
    '/deploy': (b, p) => sup.deploy(str(b, 'unit'), p, { force: b.force === true }),
    '/diff': (b, p) => sup.diff(str(b, 'unit'), p),
    '/remove': (b, p) => sup.remove(str(b, 'unit'), p),
    '/stop-instance': (b, p) => sup.stopInstance(str(b, 'instance'), { kill: b.kill === true }, p),
    '/add': (b, p) => sup.add(str(b, 'name'), b.service as ServiceConfig, p),
    '/call': (b) =>
      sup.caller.call(str(b, 'service'), str(b, 'action'), b.input ?? {}, {
        ...(typeof b.timeoutMs === 'number' ? { timeout: b.timeoutMs } : {}),
      }),
    '/dead': (b) => dead.list(optionalService(b)),
    '/dead-event': (b) => dead.show(str(b, 'key')),
    '/replay': (b) => {
      if (b.all === true) {
        if (b.keys !== undefined) throw new TesseraError('BAD_REQUEST', 'give keys or all, not both')
        const service = optionalService(b)
        return dead.replay({ all: true, ...(service === undefined ? {} : { service }) })
      }
      return dead.replay({ keys: strs(b, 'keys') })
    },
    '/discard': (b) => dead.discard(strs(b, 'keys')),
    '/contracts': async () => contracts.recent(),
    '/down': async (_b, p) => {
      await sup.down(p)
      setImmediate(() => options.onDown?.())
    },
  }

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: String(err) })
      else res.end()
    })
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (await dashboard.serve(req, res, path)) return
    if (!dashboard.authorize(req)) {
      json(res, 401, { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' })
      return
    }
    if (req.method === 'GET' && path === '/status') {
      json(res, 200, sup.status())
      return
    }
    if (req.method === 'GET' && path === '/logs') {
      const answer = await logsRoute(sup.logsDir, new URL(req.url ?? '/', 'http://localhost').searchParams)
      json(res, answer.status, answer.body)
      return
    }
    if (req.method === 'GET' && path === '/metrics') return serveMetrics(sup, res)
    if (req.method === 'GET' && serveTraces(sup.traces, new URL(req.url ?? '/', 'http://localhost'), res))
      return
    const route = routes[path]
    if (req.method !== 'POST' || !route) {
      json(res, 404, { code: 'NOT_FOUND', message: `no route ${req.method} ${path}` })
      return
    }
    let body: Body
    try {
      body = (JSON.parse((await readBody(req)) || '{}') ?? {}) as Body
    } catch {
      json(res, 400, { code: 'BAD_REQUEST', message: 'body is not JSON' })
      return
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' })
    const line = (obj: unknown) => {
      if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(obj)}\n`)
    }
    try {
      const result = await route(body, (message) => line({ type: 'progress', message }))
      line({ type: 'done', result: result ?? null })
    } catch (err) {
      const e = isTesseraError(err)
        ? err
        : new TesseraError('INTERNAL', String((err as Error)?.message ?? err))
      line({ type: 'error', code: e.code, message: e.message, data: e.data ?? null })
    }
    res.end()
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  let closing: Promise<void> | undefined
  const control: ControlServer = {
    port,
    token,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }).then(() => {
        contracts.stop()
        return dead.close()
      })
      return closing
    },
    [Symbol.asyncDispose]: () => control.close(),
  }
  return control
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > 1024 * 1024) throw new TesseraError('PAYLOAD_TOO_LARGE', 'control request over 1 MiB')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function str(body: Body, key: string): string {
  const v = body[key]
  if (typeof v !== 'string' || v === '')
    throw new TesseraError('BAD_REQUEST', `${key} must be a non-empty string`)
  return v
}

/** A non-empty array of non-empty strings. */
function strs(body: Body, key: string): string[] {
  const v = body[key]
  if (!Array.isArray(v) || v.length === 0 || !v.every((k) => typeof k === 'string' && k !== ''))
    throw new TesseraError('BAD_REQUEST', `${key} must be a non-empty array of non-empty strings`)
  return v as string[]
}

/** `service`, when given: a service name. */
function optionalService(body: Body): string | undefined {
  const v = body.service
  if (v === undefined) return undefined
  if (typeof v !== 'string' || !/^[a-z][a-z0-9-]*$/.test(v))
    throw new TesseraError('BAD_REQUEST', `service must be a service name, got ${JSON.stringify(v)}`)
  return v
}

function int(body: Body, key: string): number {
  const v = body[key]
  if (!Number.isInteger(v) || (v as number) < 0)
    throw new TesseraError('BAD_REQUEST', `${key} must be a non-negative integer`)
  return v as number
}
