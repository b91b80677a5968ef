import { isErrorCode, TesseraError } from '../../errors/index.ts'
import type { DeadEvent } from '../../transport/index.ts'
import type { SystemStatus } from '../supervisor/index.ts'
import type { DeadLetterOutcome } from './dead-letters.ts'

/** One NDJSON line of a control operation. */
export type ControlLine =
  | { type: 'progress'; message: string }
  | { type: 'done'; result: unknown }
  | { type: 'error'; code: string; message: string; data: unknown }

export interface ControlClient {
  status(): Promise<SystemStatus>
  /**
   * Runs an operation (`scale`, `restart`, `deploy`, `add`, `remove`, `call`, `down`);
   * `onProgress` gets each progress line. Resolves with the result; rejects with the
   * operation's TesseraError (its code and message), or UNAVAILABLE if the API is unreachable.
   */
  run(op: string, body: Record<string, unknown>, onProgress?: (message: string) => void): Promise<unknown>
  /** Dead letters, oldest first, optionally of one subscribing service (decision 0027). */
  dead(service?: string): Promise<DeadEvent[]>
  /** One dead letter; rejects NOT_FOUND when the key names none. */
  deadEvent(key: string): Promise<DeadEvent>
  /** Replays the keys (or every dead letter, of `service` if given, with `all`) to their service only. */
  replay(selection: { keys: readonly string[] } | { all: true; service?: string }): Promise<DeadLetterOutcome>
  /** Removes dead letters without delivering them. */
  discard(keys: readonly string[]): Promise<DeadLetterOutcome>
}

/** A client of the control API at 127.0.0.1:`port`. */
export function controlClient(options: { port: number; token: string }): ControlClient {
  const base = `http://127.0.0.1:${options.port}`
  const headers = { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' }
  const request = async (path: string, init: RequestInit): Promise<Response> => {
    let res: Response
    try {
      res = await fetch(`${base}${path}`, { ...init, headers })
    } catch (err) {
      throw new TesseraError('UNAVAILABLE', `control API at ${base} unreachable: ${(err as Error).message}`)
    }
    if (res.status === 401) throw new TesseraError('UNAUTHORIZED', 'control API rejected the token')
    return res
  }
  const client: ControlClient = {
    async status() {
      const res = await request('/status', { method: 'GET' })
      return (await res.json()) as SystemStatus
    },
    async run(op, body, onProgress) {
      const res = await request(`/${op}`, { method: 'POST', body: JSON.stringify(body) })
      if (!res.ok || !res.body) {
        const err = (await res.json().catch(() => ({}))) as { code?: string; message?: string }
        throw new TesseraError('BAD_REQUEST', err.message ?? `control API answered ${res.status}`)
      }
      let buffered = ''
      const decoder = new TextDecoder()
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true })
        let nl = buffered.indexOf('\n')
        while (nl >= 0) {
          const line = JSON.parse(buffered.slice(0, nl)) as ControlLine
          buffered = buffered.slice(nl + 1)
          nl = buffered.indexOf('\n')
          switch (line.type) {
            case 'progress':
              onProgress?.(line.message)
              break
            case 'done':
              return line.result
            case 'error':
              throw new TesseraError(
                isErrorCode(line.code) ? line.code : 'INTERNAL',
                line.message,
                (line.data ?? undefined) as ConstructorParameters<typeof TesseraError>[2],
              )
          }
        }
      }
      throw new TesseraError('UNAVAILABLE', `control API closed ${op} without a result`)
    },
    dead: async (service) =>
      (await client.run('dead', service === undefined ? {} : { service })) as DeadEvent[],
    deadEvent: async (key) => (await client.run('dead-event', { key })) as DeadEvent,
    replay: async (selection) => (await client.run('replay', { ...selection })) as DeadLetterOutcome,
    discard: async (keys) => (await client.run('discard', { keys })) as DeadLetterOutcome,
  }
  return client
}
