/** A client of `GET /events` for the gateway tests: parsed frames, and whether the server ended the stream. */
export interface OpenStream {
  status: number
  /** The JSON error body when the stream was refused. */
  error: any
  headers: Headers
  events: { event: string; data: any }[]
  /** Resolves when the server ends the stream (never when the test closes it). */
  ended: Promise<void>
  /** Resolves with the first event named `name`. */
  next(name: string): Promise<{ event: string; data: any }>
  close(): void
}

export async function openStream(url: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  const abort = new AbortController()
  const res = await fetch(`${url}/events`, { headers, signal: abort.signal })
  const events: OpenStream['events'] = []
  const waiters = new Set<() => void>()
  let error: unknown
  let ended: Promise<void> = Promise.resolve()
  if (res.status === 200 && res.body) {
    ended = (async () => {
      const decoder = new TextDecoder()
      let buffer = ''
      try {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true })
          for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
            const frame = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const event = /^event: (.*)$/m.exec(frame)?.[1]
            const data = /^data: (.*)$/m.exec(frame)?.[1]
            if (event && data !== undefined) events.push({ event, data: JSON.parse(data) })
            for (const wake of waiters) wake()
          }
        }
      } catch (err) {
        // The test's own close() is not the server ending the stream.
        if (abort.signal.aborted) await new Promise(() => {})
        throw err
      }
    })()
  } else {
    error = await res.json().catch(() => undefined)
  }
  return {
    status: res.status,
    error,
    headers: res.headers,
    events,
    ended,
    next: (name) =>
      new Promise((resolve) => {
        const check = () => {
          const found = events.find((e) => e.event === name)
          if (found) {
            waiters.delete(check)
            resolve(found)
          }
        }
        waiters.add(check)
        check()
      }),
    close: () => abort.abort(),
  }
}

/** Resolves true when `p` settles within `ms`, false otherwise (a bound, never a timing claim). */
export function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer))
}
