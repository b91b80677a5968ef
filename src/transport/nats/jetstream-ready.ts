/**
 * Whether a JetStream request failed because JetStream is not ready yet rather than for
 * what was asked: no responders (nats.js code '503': the server's JetStream API is not up,
 * e.g. just after a cluster formed or restarted), a request timeout (a busy or electing
 * cluster), or the API's own "temporarily unavailable" (10008).
 */
export function jetStreamUnready(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { err_code?: number } } | undefined
  return e?.code === '503' || e?.code === 'TIMEOUT' || e?.api_error?.err_code === 10008
}

/**
 * Runs `op` until it succeeds, again after `retryMs` while it fails with `jetStreamUnready`,
 * for at most `withinMs`; then (or on any other failure) rejects with the last error.
 * `onWait` hears each wait, to show progress.
 *
 * @example
 * const kv = await whenJetStreamReady(() => js.views.kv('live'), { withinMs: 30_000, onWait: log })
 */
export async function whenJetStreamReady<T>(
  op: () => Promise<T>,
  o: { withinMs: number; retryMs?: number; onWait?: (err: Error) => void },
): Promise<T> {
  const deadline = Date.now() + o.withinMs
  for (;;) {
    try {
      return await op()
    } catch (err) {
      if (!jetStreamUnready(err) || Date.now() >= deadline) throw err
      o.onWait?.(err as Error)
      await new Promise((resolve) => setTimeout(resolve, o.retryMs ?? 1000))
    }
  }
}
