import { type ErrorCode, TesseraError } from '../errors/index.ts'
import { BodyTooLarge, readCapped } from './read-capped.ts'

export interface BoundedFetchOptions {
  /** Names the upstream in errors (`"rates API did not answer within 1000 ms"`). */
  upstream: string
  method?: string
  headers?: Record<string, string>
  body?: string | Uint8Array
  /** Most body bytes read; a larger body is refused. Default 1 MiB. */
  maxBytes?: number
  /**
   * Time for the whole exchange: connect, headers, body and any redirects. Default 10 s.
   * `deadline`, when earlier, wins.
   */
  timeoutMs?: number
  /** The caller's deadline, ms since epoch on `Date.now`'s clock (a handler's `ctx.deadline`). */
  deadline?: number
  /** The caller giving up (a handler's `ctx.signal`): rejects with the signal's reason. */
  signal?: AbortSignal
  /**
   * Redirects to follow, same origin only, GET and HEAD only. Default 0: any 3xx is an
   * upstream error, since a followed redirect serves an answer from somewhere unvetted.
   */
  maxRedirects?: number
  /**
   * Media types a 2xx must have (e.g. `['application/json']`), checked before its body
   * is read; also sent as `Accept`. Default: any. Error bodies (non-2xx) are not checked.
   */
  accept?: readonly string[]
}

/** An answer whose body has been read within the cap and the deadline. */
export interface BoundedResponse {
  readonly status: number
  readonly ok: boolean
  readonly headers: Headers
  /** The URL that answered (after same-origin redirects). */
  readonly url: string
  readonly body: Uint8Array
  text(): string
  /** Parses the body; an invalid one is UNAVAILABLE (the upstream's fault, not the caller's). */
  json(): unknown
}

export const DEFAULT_MAX_BYTES = 1024 * 1024
export const DEFAULT_TIMEOUT_MS = 10_000
const REDIRECTS = new Set([301, 302, 303, 307, 308])

/**
 * `fetch` with the bounds an outside API cannot be trusted to keep: one deadline over
 * headers and body, a byte cap read from the stream (a Content-Length over it refused
 * before reading), no redirects unless allowed, and a content-type check before the body.
 *
 * Rejects with a `TesseraError` whose message names the upstream and what went wrong,
 * never the body: TIMEOUT when the deadline passes (`data.reason: 'TIMEOUT'`),
 * UNAVAILABLE for an upstream that is unreachable or answers out of bounds (`reason`:
 * `NETWORK`, `TOO_LARGE`, `REDIRECT`, `CONTENT_TYPE`), BAD_REQUEST for a URL that is not
 * http(s). Any status is returned, 4xx and 5xx included: what they mean is the caller's
 * call. When `signal` aborts, rejects with its reason. Nothing is left open: a refused
 * body is cancelled, which closes its connection.
 *
 * @example
 * const res = await boundedFetch(`${base}/rates/EUR`, {
 *   upstream: 'rates API', maxBytes: 64 * 1024, timeoutMs: 1_000,
 *   deadline: ctx.deadline, signal: ctx.signal, accept: ['application/json'],
 * })
 * if (res.status === 404) throw new TesseraError('NOT_FOUND', 'no such rate')
 * const body = res.json()
 */
export async function boundedFetch(
  url: string | URL,
  options: BoundedFetchOptions,
): Promise<BoundedResponse> {
  const { upstream } = options
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  const timeoutMs = Math.max(
    0,
    Math.min(
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      (options.deadline ?? Number.POSITIVE_INFINITY) - Date.now(),
    ),
  )
  const fail = (code: ErrorCode, reason: string, message: string, data: Record<string, unknown> = {}) =>
    new TesseraError(code, `${upstream} ${message}`, { upstream, reason, ...data })

  let target = new URL(url)
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    throw fail('BAD_REQUEST', 'URL', `URL must be http(s), got ${target.protocol}`)
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout
  const method = (options.method ?? 'GET').toUpperCase()
  const headers: Record<string, string> = { ...options.headers }
  if (options.accept) headers.accept ??= options.accept.join(', ')

  try {
    for (let redirects = 0; ; redirects++) {
      const res = await fetch(target, {
        method,
        headers,
        ...(options.body !== undefined ? { body: options.body } : {}),
        redirect: 'manual',
        signal,
      })
      const location = res.headers.get('location')
      if (REDIRECTS.has(res.status) && location !== null) {
        await res.body?.cancel().catch(() => {})
        const next = new URL(location, target)
        if ((options.maxRedirects ?? 0) === 0)
          throw fail(
            'UNAVAILABLE',
            'REDIRECT',
            `answered ${res.status} (a redirect); redirects are not followed`,
          )
        if (redirects >= (options.maxRedirects ?? 0))
          throw fail('UNAVAILABLE', 'REDIRECT', `redirected more than ${options.maxRedirects} times`)
        if (next.origin !== target.origin)
          throw fail('UNAVAILABLE', 'REDIRECT', `redirected to another origin (${next.origin})`)
        if (method !== 'GET' && method !== 'HEAD')
          throw fail('UNAVAILABLE', 'REDIRECT', `redirected a ${method}; only GET and HEAD follow redirects`)
        target = next
        continue
      }
      if (res.ok && options.accept) {
        const type = mediaType(res.headers.get('content-type'))
        if (!options.accept.includes(type)) {
          await res.body?.cancel().catch(() => {})
          throw fail(
            'UNAVAILABLE',
            'CONTENT_TYPE',
            `answered content type ${type || 'none'}, expected ${options.accept.join(' or ')}`,
          )
        }
      }
      const declared = Number(res.headers.get('content-length') ?? Number.NaN)
      if (declared > maxBytes) {
        await res.body?.cancel().catch(() => {})
        throw fail(
          'UNAVAILABLE',
          'TOO_LARGE',
          `announced Content-Length ${declared}, over the ${maxBytes}-byte cap`,
          { maxBytes },
        )
      }
      const body = res.body ? await readCapped(res.body, maxBytes, signal) : new Uint8Array(0)
      return response(res, target, body, fail)
    }
  } catch (err) {
    if (err instanceof TesseraError) throw err
    if (options.signal?.aborted) throw options.signal.reason
    if (timeout.aborted)
      throw fail('TIMEOUT', 'TIMEOUT', `did not answer within ${timeoutMs} ms`, { timeoutMs })
    if (err instanceof BodyTooLarge)
      throw fail('UNAVAILABLE', 'TOO_LARGE', `sent a body larger than ${maxBytes} bytes`, { maxBytes })
    const cause = (err as { cause?: { code?: unknown } }).cause?.code
    throw fail(
      'UNAVAILABLE',
      'NETWORK',
      `is unreachable (${typeof cause === 'string' ? cause : (err as Error).message})`,
      {},
    )
  }
}

function response(
  res: Response,
  url: URL,
  body: Uint8Array,
  fail: (code: ErrorCode, reason: string, message: string) => TesseraError,
): BoundedResponse {
  const text = () => new TextDecoder().decode(body)
  return {
    status: res.status,
    ok: res.ok,
    headers: res.headers,
    url: url.href,
    body,
    text,
    json() {
      try {
        return JSON.parse(text()) as unknown
      } catch {
        throw fail('UNAVAILABLE', 'BAD_JSON', `answered ${res.status} with a body that is not JSON`)
      }
    },
  }
}

/** `application/json; charset=utf-8` → `application/json`. */
function mediaType(header: string | null): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase()
}
