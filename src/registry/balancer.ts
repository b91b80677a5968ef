import type { Call, Endpoint } from '../middleware/index.ts'

/**
 * Picks the endpoint for one attempt of a call, or undefined when there is no
 * candidate. Pure apart from its own closure state (counters); never mutates the
 * candidates or the call. Strategies compose: `excludeTried(preferLocal(roundRobin()))`.
 */
export type Balancer = (candidates: readonly Endpoint[], call: Call) => Endpoint | undefined

/**
 * Takes the candidates in turn. Over `k * n` picks from the same `n` candidates, each
 * is picked exactly `k` times. When the list changes, the turn continues from the
 * same counter (a position, not a node), so no node is starved.
 *
 * @example
 * const pick = roundRobin()
 * pick([a, b], call) // a, then b, then a...
 */
export function roundRobin(): Balancer {
  let counter = 0
  return (candidates) => {
    const n = candidates.length
    if (n === 0) return undefined
    const i = counter % n
    counter = i + 1
    return candidates[i]
  }
}

/**
 * Picks a candidate with the fewest calls in flight (exact minimum over all
 * candidates, as told by `inflight(nodeId)`). Ties are broken by a rotating counter,
 * so equally idle nodes share the load in turn instead of the first one taking it all.
 *
 * @example
 * const pick = leastOutstanding((nodeId) => inflight.get(nodeId) ?? 0)
 */
export function leastOutstanding(inflight: (nodeId: string) => number): Balancer {
  let rotation = 0
  return (candidates) => {
    const n = candidates.length
    if (n <= 1) return candidates[0]
    let min = Number.POSITIVE_INFINITY
    let ties = 0
    // Loads are read once per candidate into a small scratch array, so the choice
    // is made on one consistent view even if `inflight` changes.
    const loads = new Array<number>(n)
    for (let i = 0; i < n; i++) {
      const load = inflight(candidates[i]!.nodeId)
      loads[i] = load
      if (load < min) {
        min = load
        ties = 1
      } else if (load === min) {
        ties++
      }
    }
    const turn = rotation
    rotation = (rotation + 1) % 0x40000000
    if (ties === 0) return candidates[turn % n] // every load is NaN: take turns
    let skip = turn % ties
    for (let i = 0; i < n; i++) {
      if (loads[i] === min && skip-- === 0) return candidates[i]
    }
    return undefined
  }
}

/**
 * Picks a local endpoint (no transport hop) when there is one; with several local
 * ones, `inner` chooses among them. Without any, `inner` chooses among all.
 *
 * @example
 * const pick = preferLocal(roundRobin())
 */
export function preferLocal(inner: Balancer): Balancer {
  return (candidates, call) => {
    const first = candidates.findIndex((e) => e.local)
    if (first < 0) return inner(candidates, call)
    if (candidates.findIndex((e, i) => i > first && e.local) < 0) return candidates[first]
    return inner(
      candidates.filter((e) => e.local),
      call,
    )
  }
}

/**
 * Avoids the nodes already tried by earlier attempts of this call (`call.tried`), as
 * long as another candidate exists; when every candidate was tried, `inner` chooses
 * among all of them. A first attempt costs nothing extra.
 *
 * @example
 * const pick = excludeTried(preferLocal(roundRobin()))
 */
export function excludeTried(inner: Balancer): Balancer {
  return (candidates, call) => {
    const tried = call.tried
    if (tried.length === 0 || !candidates.some((e) => tried.includes(e.nodeId))) {
      return inner(candidates, call)
    }
    const fresh = candidates.filter((e) => !tried.includes(e.nodeId))
    return inner(fresh.length > 0 ? fresh : candidates, call)
  }
}

/**
 * Skips endpoints whose circuit is open (`isAvailable` is a breaker registry's), as
 * long as one is available; when none is, `inner` chooses among all of them and the
 * breaker answers CIRCUIT_OPEN.
 *
 * @example
 * const pick = excludeUnavailable(breakers.isAvailable, excludeTried(roundRobin()))
 */
export function excludeUnavailable(
  isAvailable: (service: string, nodeId: string) => boolean,
  inner: Balancer,
): Balancer {
  return (candidates, call) => {
    if (candidates.every((e) => isAvailable(call.service, e.nodeId))) return inner(candidates, call)
    const available = candidates.filter((e) => isAvailable(call.service, e.nodeId))
    return inner(available.length > 0 ? available : candidates, call)
  }
}
