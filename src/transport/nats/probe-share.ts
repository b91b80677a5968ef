/**
 * Who probes whom (decision 0023). Liveness of a peer that announced PROBE_META is not
 * judged by its silence but by probing: a PING published to its node subject with the
 * no-responders reply, answered by the server with a 503 once the peer's subscriptions
 * are gone (its connection closed: SIGKILL, crash, network loss seen by the server).
 *
 * Every watcher (a node that announced WATCH_META, and this one) takes a share: peer X
 * is probed by the watcher at `hash(X) mod watchers` in the watchers sorted by id. Views
 * may differ for a moment while watchers come and go; then a peer is probed twice or
 * skipped for a round, nothing worse. No election, no agreement: each node computes
 * its share from what it knows.
 */

/** `NodeInfo.meta` key: "judge my liveness by probing; I send no heartbeat to nodes that know this key". */
export const PROBE_META = 'tessera.nats.probe'
/** `NodeInfo.meta` key: "I probe my share of the probed peers". */
export const WATCH_META = 'tessera.nats.watch'

/** FNV-1a over the UTF-16 code units: cheap, stable across processes and versions. */
export function shareHash(nodeId: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < nodeId.length; i++) {
    h ^= nodeId.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/**
 * The watcher that probes `nodeId`, given every watcher's id sorted ascending (this
 * node's included). A node never probes itself: when `nodeId` is a watcher, it is left
 * out of the choice. Undefined when nobody else watches.
 *
 * @example
 * ownerOf('api-7', ['a', 'b']) // 'a' or 'b', the same on every node holding that list
 */
export function ownerOf(nodeId: string, sortedWatchers: readonly string[]): string | undefined {
  const self = sortedWatchers.indexOf(nodeId)
  const count = sortedWatchers.length - (self >= 0 ? 1 : 0)
  if (count <= 0) return undefined
  const i = shareHash(nodeId) % count
  return sortedWatchers[self >= 0 && i >= self ? i + 1 : i]
}

/** Scales `ms` by a random factor in [1 - spread, 1 + spread], so rounds of many nodes do not line up. */
export function jittered(ms: number, spread = 0.1, random: () => number = Math.random): number {
  return Math.round(ms * (1 - spread + 2 * spread * random()))
}
