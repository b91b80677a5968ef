import { Type as T } from '@sinclair/typebox'
import { defineService } from 'tessera/contract'
import { isTesseraError, TesseraError } from 'tessera/errors'
import { type CircuitBreaker, createCircuitBreaker } from '../../lib/circuit-breaker.ts'
import { TtlCache } from '../../lib/ttl-cache.ts'
import { fetchRate, type Rate } from './rates-client.ts'

export const Quote = T.Object({
  currency: T.String(),
  base: T.Literal('USD'),
  rate: T.Number(),
  asOf: T.String(),
  /** True when the outside API failed and this is an older cached answer. */
  stale: T.Boolean(),
  source: T.Union([T.Literal('api'), T.Literal('cache')]),
})

export interface QuotesOptions {
  /** Base URL of the rates API; `QUOTES_API_URL` when the service starts, else http://127.0.0.1:4010. */
  apiUrl?: string
  /** Per-request timeout for the outside API, well under the action's deadline so a stale answer still fits. */
  requestTimeoutMs?: number
  /** How long a fetched rate is served without asking again. Default 30 s. */
  ttlMs?: number
  /** How long a rate may be served stale while the API is down. Default 1 h. */
  maxStaleMs?: number
  /**
   * How long "no such currency" (the API's 404) is remembered, so repeated requests on
   * the public route do not each go upstream. Shorter than `ttlMs`: a currency the API
   * adds is seen soon. Default 10 s.
   */
  negativeTtlMs?: number
  /** Most bytes read of one answer of the API; a larger one is refused unread. Default 64 KiB. */
  maxResponseBytes?: number
  /** Consecutive API failures that open the breaker (default 3), and for how long (default 10 s). */
  breaker?: { failureThreshold?: number; openMs?: number }
  now?: () => number
}

/**
 * Exchange-rate quotes from an outside HTTP API, behind a bounded fetch (one deadline
 * over headers and body, a byte cap, no redirects, JSON only), a TTL cache, a shorter
 * cache of unknown currencies and a circuit breaker. When the API fails or the breaker
 * is open, a cached rate is served stale (`stale: true`); with nothing cached the answer
 * is UNAVAILABLE (retryable), `data.reason` the upstream error's code and `data.detail`
 * what went wrong. Caches and breaker are per instance.
 *
 * @example
 * const quotes = createQuotesService({ apiUrl: 'http://127.0.0.1:4010', requestTimeoutMs: 500 })
 */
export function createQuotesService(options: QuotesOptions = {}) {
  const now = options.now ?? Date.now
  const requestTimeoutMs = options.requestTimeoutMs ?? 1_000
  const cache = new TtlCache<Rate>({
    ttlMs: options.ttlMs ?? 30_000,
    maxStaleMs: options.maxStaleMs ?? 3_600_000,
    maxEntries: 500,
    now,
  })
  const negativeTtlMs = options.negativeTtlMs ?? 10_000
  // Unknown currencies, bounded: a client spraying codes evicts the oldest, not memory.
  const unknown = new TtlCache<true>({
    ttlMs: negativeTtlMs,
    maxStaleMs: negativeTtlMs,
    maxEntries: 1_000,
    now,
  })
  const maxBytes = options.maxResponseBytes ?? 64 * 1024
  let apiUrl = options.apiUrl ?? 'http://127.0.0.1:4010'
  const breaker: CircuitBreaker = createCircuitBreaker({
    name: 'rates-api',
    failureThreshold: options.breaker?.failureThreshold ?? 3,
    openMs: options.breaker?.openMs ?? 10_000,
    now,
  })

  return defineService({
    name: 'quotes',
    version: '1.0.0',
    policy: { timeout: 3_000 },
    actions: ({ action }) => ({
      get: action({
        description: 'The USD exchange rate of a currency; possibly stale when the rates API is down.',
        input: T.Object({ currency: T.String({ pattern: '^[A-Z]{3}$' }) }, { additionalProperties: false }),
        output: Quote,
        idempotent: true,
        // No broker retries: every instance calls the same outside API, so retrying an
        // UNAVAILABLE elsewhere only multiplies load on an API that is already failing.
        policy: { retry: { attempts: 1 } },
        http: { method: 'GET', path: '/quotes/:currency', auth: 'public' },
        handler: async ({ currency }, ctx) => {
          const fresh = cache.fresh(currency)
          if (fresh) return quote(fresh.value, 'cache', false)
          if (unknown.fresh(currency)) throw noQuote(currency)
          try {
            const rate = await breaker.run(
              () =>
                fetchRate(apiUrl, currency, {
                  timeoutMs: requestTimeoutMs,
                  deadline: ctx.deadline,
                  signal: ctx.signal,
                  maxBytes,
                }),
              // Neither an unknown currency nor our own caller giving up says the API is
              // unhealthy; a timeout, a 5xx or an answer out of bounds does.
              (err) => !isTesseraError(err, 'NOT_FOUND') && !ctx.signal.aborted,
            )
            return quote(cache.set(currency, rate), 'api', false)
          } catch (err) {
            if (isTesseraError(err, 'NOT_FOUND')) {
              unknown.set(currency, true)
              throw noQuote(currency)
            }
            if (ctx.signal.aborted) throw err
            const stale = cache.stale(currency)
            if (stale) return quote(stale.value, 'cache', true)
            throw new TesseraError('UNAVAILABLE', 'the rates API is unavailable and no quote is cached', {
              currency,
              reason: isTesseraError(err) ? err.code : 'NETWORK',
              detail: err instanceof Error ? err.message : String(err),
              breaker: breaker.state(),
            })
          }
        },
      }),
    }),
    started: () => {
      apiUrl = options.apiUrl ?? process.env.QUOTES_API_URL ?? apiUrl
    },
  })
}

function quote(rate: Rate, source: 'api' | 'cache', stale: boolean) {
  return { currency: rate.currency, base: 'USD' as const, rate: rate.rate, asOf: rate.asOf, stale, source }
}

function noQuote(currency: string): TesseraError {
  return new TesseraError('NOT_FOUND', `no quote for currency ${currency}`, { currency })
}

const quotes = createQuotesService()
export default quotes
export type QuotesService = typeof quotes
