/** Why reading stopped early: the body passed the cap. Turned into a TesseraError by the caller. */
export class BodyTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`body larger than ${maxBytes} bytes`)
  }
}

/**
 * Reads a response body into one buffer, at most `maxBytes`: once the running total
 * passes the cap the stream is cancelled (undici then drops the connection, so the
 * sender is stopped by TCP back-pressure, not read to the end) and `BodyTooLarge`
 * thrown. When `signal` aborts mid-body the stream is cancelled and the signal's reason
 * thrown, so a body trickled a byte at a time ends at the deadline like a slow header.
 */
export async function readCapped(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const reader = body.getReader()
  const onAbort = () => void reader.cancel(signal.reason).catch(() => {})
  signal.addEventListener('abort', onAbort, { once: true })
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason
      const { done, value } = await reader.read()
      // A cancel on abort ends the read as `done`: that is not the end of the body.
      if (signal.aborted) throw signal.reason
      if (done) break
      total += value.byteLength
      if (total > maxBytes) {
        await reader.cancel().catch(() => {})
        throw new BodyTooLarge(maxBytes)
      }
      chunks.push(value)
    }
  } finally {
    signal.removeEventListener('abort', onAbort)
    reader.releaseLock()
  }
  return concat(chunks, total)
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(total)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}
