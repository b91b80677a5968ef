/**
 * The reference system as `npm start` runs it (every instance its own process under the
 * runtime, the gateway in front, a local fake rates API), in a temp dir, for tests that
 * talk HTTP only.
 */
import { createPrivateKey, type KeyObject, randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import type { FakeQuotesApi } from '../../fake-quotes-api.ts'
import { keyDirFromEnv, PRIVATE_KEY_FILE } from '../../services/auth/keys.ts'
import { AUDIENCE, ISSUER } from '../../services/auth/tokens.ts'
import { type RunningReference, startReference } from '../../start.ts'

export interface E2eSystem extends AsyncDisposable {
  readonly url: string
  readonly ref: RunningReference
  readonly quotesApi: FakeQuotesApi
  /** The key auth signs with: the one generated in the data dir, as `npm start` does. */
  readonly privateKey: KeyObject
  /** Lines the instances wrote, for a failing test's message. */
  readonly logs: string[]
  close(): Promise<void>
}

/**
 * Starts the system in a fresh temp dir (SQLite files there, or schemas in `databaseUrl`),
 * with the gateway on a free port (and, with `control`, the control API on another);
 * rejects (everything stopped) when a unit did not start.
 */
export async function startE2e(
  options: { databaseUrl?: string; env?: NodeJS.ProcessEnv; control?: boolean } = {},
): Promise<E2eSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-e2e-'))
  const logs: string[] = []
  const env: NodeJS.ProcessEnv = {
    PORT: '0',
    // No TESSERA_JWT_*_KEY: the key pair is generated in the data dir, as with `npm start`.
    TESSERA_DATA_DIR: join(dir, 'data'),
    // Tests make many calls from one IP; the limit itself has its own tests.
    RATE_LIMIT_PER_MINUTE: '10000',
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  }
  let ref: RunningReference
  try {
    ref = await startReference({
      env,
      stateDir: join(dir, 'state'),
      // The control API (and its dashboard) only for the tests that use it.
      control: options.control ?? false,
      onLog: (label, line) => {
        if (logs.length < 2_000) logs.push(`[${label}] ${line}`)
      },
    })
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= ref.close().finally(() => rmSync(dir, { recursive: true, force: true }))
    return closing
  }
  if (ref.failed.length > 0) {
    await close()
    throw new Error(`units did not start: ${ref.failed.join(', ')}\n${logs.slice(-40).join('\n')}`)
  }
  const privateKey = createPrivateKey(readFileSync(join(keyDirFromEnv(env), PRIVATE_KEY_FILE), 'utf8'))
  return {
    url: ref.url,
    ref,
    quotesApi: ref.quotesApi!,
    privateKey,
    logs,
    close,
    [Symbol.asyncDispose]: close,
  }
}

export interface Answer {
  status: number
  headers: Headers
  body: any
  ms: number
}

/**
 * One HTTP request; `body` is JSON-encoded unless it is a string (sent as is). `from`
 * sends it from another loopback address (any of 127.0.0.0/8 works on Linux), so the
 * gateway sees another client IP.
 */
export async function http(
  base: string,
  method: string,
  path: string,
  options: {
    body?: unknown
    token?: string
    headers?: Record<string, string>
    timeoutMs?: number
    from?: string
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.body !== undefined) headers['content-type'] ??= 'application/json'
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.from !== undefined) return httpFrom(options.from, base, method, path, headers, options)
  const started = Date.now()
  const init: RequestInit = { method, headers, signal: AbortSignal.timeout(options.timeoutMs ?? 15_000) }
  if (options.body !== undefined)
    init.body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
  const res = await fetch(`${base}${path}`, init)
  const text = await res.text()
  let body: unknown = text
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body, ms: Date.now() - started }
}

/** `http` over node:http, which (unlike fetch) can pick the local address. */
function httpFrom(
  localAddress: string,
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  options: { body?: unknown; timeoutMs?: number },
): Promise<Answer> {
  const started = Date.now()
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body)
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, base),
      { method, headers, localAddress, agent: false, timeout: options.timeoutMs ?? 15_000 },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let body: unknown = text
          try {
            body = text ? JSON.parse(text) : undefined
          } catch {
            // not JSON: keep the text
          }
          const answer = new Headers()
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) answer.set(name, Array.isArray(value) ? value.join(', ') : value)
          }
          resolve({ status: res.statusCode ?? 0, headers: answer, body, ms: Date.now() - started })
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 15_000} ms`)))
    req.on('error', reject)
    req.end(payload)
  })
}

export interface Tokens {
  userId: string
  accessToken: string
  refreshToken: string
}

/** A new account through POST /auth/register; throws unless 200. */
export async function register(
  base: string,
  name = 'Ada',
): Promise<Tokens & { email: string; password: string }> {
  const email = `${name.toLowerCase()}-${randomUUID().slice(0, 8)}@example.com`
  const password = 'correct horse battery staple'
  const res = await http(base, 'POST', '/auth/register', { body: { email, password, name } })
  if (res.status !== 200) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`)
  return { ...(res.body as Tokens), email, password }
}

/**
 * An access token as auth would sign it, with any claims, key and times (for forged or
 * expired tokens); `null` leaves a claim out. `key` is a private key (EdDSA) or, to play
 * an attacker with a shared secret, bytes (HS256).
 */
export async function signToken(
  claims: {
    sub: string
    exp: number | null
    iat?: number
    jti?: string
    iss?: string
    aud?: string | null
    roles?: string[]
  },
  key: KeyObject | Uint8Array,
): Promise<string> {
  let jwt = new SignJWT({ roles: claims.roles ?? ['user'] })
    .setProtectedHeader({ alg: key instanceof Uint8Array ? 'HS256' : 'EdDSA', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(claims.iss ?? ISSUER)
    .setIssuedAt(claims.iat ?? (claims.exp ?? Math.floor(Date.now() / 1000) + 900) - 900)
  if (claims.exp !== null) jwt = jwt.setExpirationTime(claims.exp)
  if (claims.aud !== null) jwt = jwt.setAudience(claims.aud ?? AUDIENCE)
  if (claims.jti !== '') jwt = jwt.setJti(claims.jti ?? randomUUID())
  return jwt.sign(key)
}

export interface EventStream {
  /** HTTP status of the stream request (200 when it streams). */
  readonly status: number
  /** Events received so far, parsed. */
  readonly events: { event: string; data: any }[]
  /** Resolves with the first received event matching `match`; rejects after `timeoutMs`. */
  next(
    match: (e: { event: string; data: any }) => boolean,
    timeoutMs?: number,
  ): Promise<{ event: string; data: any }>
  /** Resolves when the server ends the stream (not when `close()` does). */
  readonly ended: Promise<void>
  close(): void
}

/** Opens `GET /events` with the token in the Authorization header, as the web page does, and parses the frames. */
export async function openEvents(base: string, token: string | undefined): Promise<EventStream> {
  const abort = new AbortController()
  const res = await fetch(`${base}/events`, {
    headers: {
      accept: 'text/event-stream',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    signal: abort.signal,
  })
  const events: { event: string; data: any }[] = []
  const waiters = new Set<() => void>()
  let ended: Promise<void> = Promise.resolve()
  if (res.ok && res.body) {
    ended = (async () => {
      const decoder = new TextDecoder()
      let buffer = ''
      try {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true })
          let end = buffer.indexOf('\n\n')
          while (end >= 0) {
            const frame = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const event = /^event: (.*)$/m.exec(frame)?.[1]
            const data = /^data: (.*)$/m.exec(frame)?.[1]
            if (event && data !== undefined) {
              events.push({ event, data: JSON.parse(data) })
              for (const wake of waiters) wake()
            }
            end = buffer.indexOf('\n\n')
          }
        }
      } catch {
        // aborted by close(): the server did not end it
        if (abort.signal.aborted) await new Promise(() => {})
      }
    })()
  } else {
    await res.body?.cancel()
  }
  return {
    status: res.status,
    events,
    next(match, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match)
          if (!found) return false
          waiters.delete(check)
          clearTimeout(timer)
          resolve(found)
          return true
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    ended,
    close: () => abort.abort(),
  }
}

/** Polls `probe` until it returns a value other than undefined. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
