import { TesseraError } from '../../errors/index.ts'

/**
 * The NATS subjects of one namespace (docs/decisions/0003-nats-subjects.md and
 * 0014-nats-identity-and-permissions.md):
 *
 * - `tessera.<ns>.node.<toUnit>.<to>.<fromUnit>.<from>`  messages to node `to`, sent by `from`
 * - `tessera.<ns>.discovery.<fromUnit>.<from>`  HELLO / ANNOUNCE / heartbeat / BYE of `from`
 * - `tessera.<ns>.nr.<fromUnit>.<from>.<to>`  reply subject of messages `from` → `to`; the
 *   server answers a 503 "no responders" status there when nobody subscribes to `to` any more
 * - `tessera.<ns>.gone.<fromUnit>.<from>`  `from` found a peer's subscriptions gone: every
 *   watcher probes that peer itself (decision 0023)
 *
 * Each node id comes with its unit (the config entry it runs) as a token of its own, so
 * a NATS permission with one wildcard can pin a unit: unit `orders` may publish only
 * `...node.*.*.orders.*` and `...discovery.orders.*`, and subscribe only to
 * `...node.orders.>` and `...nr.orders.>` (permissions.ts). The sender sits in the last
 * two tokens so a receiver learns it with one `slice`, without headers or a field in
 * the payload.
 */
export interface Subjects {
  /** This node's unit token. */
  readonly unit: string
  /** Subscribe here to receive messages addressed to this node (`...node.<unit>.<me>.*.*`). */
  readonly inbox: string
  /** Prefix of `inbox` deliveries; the rest of the subject is `<fromUnit>.<from>`. */
  readonly inboxPrefix: string
  /** Subscribe here for every node's discovery messages (`...discovery.*.*`). */
  readonly discovery: string
  /** Prefix of discovery deliveries; the rest of the subject is `<fromUnit>.<from>`. */
  readonly discoveryPrefix: string
  /** Where this node publishes its own discovery messages. */
  readonly ownDiscovery: string
  /** Subscribe here for every watcher's "probe this peer" hints (`...gone.*.*`, decision 0023). */
  readonly gone: string
  /** Prefix of gone deliveries; the rest of the subject is `<fromUnit>.<from>`. */
  readonly gonePrefix: string
  /** Where this node publishes its own hints. */
  readonly ownGone: string
  /** Subscribe here for no-responders statuses of this node's sends (`...nr.<unit>.<me>.*`). */
  readonly noResponders: string
  readonly noRespondersPrefix: string
  /** Subject for messages from this node to a peer (computed once per peer). */
  toPeer(peerUnitToken: string, peerToken: string): string
  /** Reply subject for messages from this node to `peer`. */
  replyFor(peerToken: string): string
}

const NAMESPACE = /^[A-Za-z0-9_-]+$/

/** The unit token of nodes that name no unit (plain `natsTransport` use without the runtime). */
export const NO_UNIT = '_'

/**
 * Builds the subjects for `namespace` and the local node of `unit`. Throws BAD_REQUEST
 * for a namespace that is not a single plain subject token.
 *
 * @example
 * const s = natsSubjects('shop', 'orders-1', 'orders')
 * s.toPeer('users', nodeToken('users-1')) // 'tessera.shop.node.users.users-1.orders.orders-1'
 */
export function natsSubjects(namespace: string, localNodeId: string, unit: string = NO_UNIT): Subjects {
  const base = natsSubjectBase(namespace)
  const me = `${nodeToken(unit)}.${nodeToken(localNodeId)}`
  return {
    unit: nodeToken(unit),
    inbox: `${base}.node.${me}.*.*`,
    inboxPrefix: `${base}.node.${me}.`,
    discovery: `${base}.discovery.*.*`,
    discoveryPrefix: `${base}.discovery.`,
    ownDiscovery: `${base}.discovery.${me}`,
    gone: `${base}.gone.*.*`,
    gonePrefix: `${base}.gone.`,
    ownGone: `${base}.gone.${me}`,
    noResponders: `${base}.nr.${me}.*`,
    noRespondersPrefix: `${base}.nr.${me}.`,
    toPeer: (peerUnit, peer) => `${base}.node.${peerUnit}.${peer}.${me}`,
    replyFor: (peer) => `${base}.nr.${me}.${peer}`,
  }
}

/** `tessera.<namespace>`; throws BAD_REQUEST for a namespace that is not one plain token. */
export function natsSubjectBase(namespace: string): string {
  if (!NAMESPACE.test(namespace)) {
    throw new TesseraError(
      'BAD_REQUEST',
      `NATS namespace must match ${NAMESPACE}, got ${JSON.stringify(namespace)}`,
    )
  }
  return `tessera.${namespace}`
}

/**
 * The sender of a subject's last two tokens (`<unit>.<node>`), as the unit token and
 * the node id; undefined when they are not tokens `nodeToken` makes.
 */
export function senderOf(rest: string): { unit: string; nodeId: string } | undefined {
  const dot = rest.indexOf('.')
  if (dot <= 0) return undefined
  const unit = rest.slice(0, dot)
  const nodeId = nodeIdOf(rest.slice(dot + 1))
  return nodeId === undefined ? undefined : { unit, nodeId }
}

// Node ids are free text (often host names with dots); a subject token may not hold
// '.', whitespace, '*' or '>'. Everything outside [A-Za-z0-9_-] is %-escaped, so the
// mapping is reversible and common ids ('node-1', 'api-7f3a') stay unchanged.
const UNSAFE = /[^A-Za-z0-9_-]/

/**
 * The subject token for a node id (or a unit name); `nodeIdOf` reverses it.
 *
 * @example
 * nodeToken('api-1') // 'api-1'
 * nodeToken('host.example.com') // 'host%2Eexample%2Ecom'
 */
export function nodeToken(nodeId: string): string {
  if (!UNSAFE.test(nodeId) && nodeId.length > 0) return nodeId
  if (nodeId.length === 0) return '%'
  return Array.from(new TextEncoder().encode(nodeId), (b) =>
    (b >= 0x30 && b <= 0x39) ||
    (b >= 0x41 && b <= 0x5a) ||
    (b >= 0x61 && b <= 0x7a) ||
    b === 0x5f ||
    b === 0x2d
      ? String.fromCharCode(b)
      : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
  ).join('')
}

/**
 * The node id of a subject token; undefined when the token is not one `nodeToken` makes.
 *
 * @example
 * nodeIdOf('host%2Eexample%2Ecom') // 'host.example.com'
 */
export function nodeIdOf(token: string): string | undefined {
  if (!token.includes('%')) return token.length > 0 && !token.includes('.') ? token : undefined
  if (token === '%') return ''
  try {
    return decodeURIComponent(token)
  } catch {
    return undefined
  }
}
