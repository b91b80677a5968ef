import { Type as T } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { TesseraError } from 'tessera/errors'
import { boundedFetch } from 'tessera/fetch'

const RateResponse = TypeCompiler.Compile(
  T.Object({
    currency: T.String(),
    rate: T.Number({ exclusiveMinimum: 0 }),
    asOf: T.String({ maxLength: 40 }),
  }),
)

export interface Rate {
  currency: string
  rate: number
  asOf: string
}

export interface FetchRateOptions {
  /** Time for headers and body together. */
  timeoutMs: number
  /** The call's deadline (`ctx.deadline`): the earlier of the two ends the request. */
  deadline?: number
  /** The caller giving up (`ctx.signal`): rejects with its reason. */
  signal?: AbortSignal
  /** Most body bytes read; a rate is ~100 bytes. */
  maxBytes: number
}

/** The name the rates API goes by in errors and logs. */
export const RATES_API = 'rates API'

/**
 * Fetches one rate from the outside API through `boundedFetch`: no redirects, a byte
 * cap, one deadline over headers and body, JSON only. Rejects NOT_FOUND for a currency
 * the API does not know (a 404: the API is healthy), TIMEOUT when it is too slow, and
 * UNAVAILABLE for anything else that is not a well-formed 200 (the error names what was
 * wrong, never the body).
 */
export async function fetchRate(baseUrl: string, currency: string, options: FetchRateOptions): Promise<Rate> {
  const res = await boundedFetch(new URL(`rates/${currency}`, withSlash(baseUrl)), {
    upstream: RATES_API,
    timeoutMs: options.timeoutMs,
    maxBytes: options.maxBytes,
    accept: ['application/json'],
    ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  })
  if (res.status === 404)
    throw new TesseraError('NOT_FOUND', `no quote for currency ${currency}`, { currency })
  if (!res.ok)
    throw new TesseraError('UNAVAILABLE', `${RATES_API} answered ${res.status}`, {
      upstream: RATES_API,
      status: res.status,
    })
  const body = res.json()
  if (!RateResponse.Check(body) || body.currency !== currency)
    throw new TesseraError('UNAVAILABLE', `${RATES_API} answered with an unexpected body`, {
      upstream: RATES_API,
    })
  return { currency, rate: body.rate, asOf: body.asOf }
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`
}
