import { Type as T } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { TesseraError } from 'tessera/errors'

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

/**
 * Fetches one rate from the outside API. Rejects NOT_FOUND for a currency the API does
 * not know (a 404: the API is healthy), UNAVAILABLE for anything else that is not a
 * well-formed 200, and with the signal's reason when `signal` aborts.
 */
export async function fetchRate(baseUrl: string, currency: string, signal: AbortSignal): Promise<Rate> {
  const res = await fetch(new URL(`rates/${currency}`, withSlash(baseUrl)), {
    signal,
    headers: { accept: 'application/json' },
  })
  if (res.status === 404) {
    await res.body?.cancel()
    throw new TesseraError('NOT_FOUND', `no quote for currency ${currency}`, { currency })
  }
  if (!res.ok) {
    await res.body?.cancel()
    throw new TesseraError('UNAVAILABLE', `the rates API answered ${res.status}`, { status: res.status })
  }
  const body: unknown = await res.json().catch(() => undefined)
  if (!RateResponse.Check(body) || body.currency !== currency) {
    throw new TesseraError('UNAVAILABLE', 'the rates API answered with an unexpected body')
  }
  return { currency, rate: body.rate, asOf: body.asOf }
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`
}
