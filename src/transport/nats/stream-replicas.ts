/**
 * The replica count our JetStream streams and KV buckets ask for: 3 (a majority survives
 * one server's loss, as the NATS docs advise for production) wherever the servers can
 * place 3, else 1. Nothing to configure, and the same code runs on one nats-server on a
 * laptop and on a cluster.
 */
export const CLUSTER_REPLICAS = 3

/**
 * JetStream's answers meaning "this server or cluster cannot place that many replicas":
 * 10074 on a server not in a cluster, 10023 on a cluster of fewer servers than asked.
 * Any other failure is the caller's to see.
 */
const CANNOT_PLACE = new Set([10074, 10023])

/**
 * Creates a stream (or KV bucket, or anything made at a replica count) with
 * `CLUSTER_REPLICAS`, once more with 1 if JetStream says it cannot place them. A stream
 * that exists already keeps the count it was made with (JetStream's own `update` can
 * raise it; we never change a stream under its readers).
 *
 * @example
 * const kv = await withReplicas((replicas) => js.views.kv('hosts-live', { replicas, ttl }))
 */
export async function withReplicas<T>(create: (replicas: number) => Promise<T>): Promise<T> {
  try {
    return await create(CLUSTER_REPLICAS)
  } catch (err) {
    if (!cannotPlace(err)) throw err
    return create(1)
  }
}

function cannotPlace(err: unknown): boolean {
  const code = (err as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code
  if (code !== undefined) return CANNOT_PLACE.has(code)
  // An API error that came without its code: go by the server's words.
  return /replicas > 1 not supported|insufficient resources/i.test(String(err))
}
