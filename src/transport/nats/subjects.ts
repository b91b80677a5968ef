import { TesseraError } from '../../errors/index.ts'

/**
 * The NATS subjects of one namespace (see docs/decisions/0003-nats-subjects.md):
 *
 * - `tessera.<ns>.node.<to>.<from>`  messages to node `to`, sent by `from`
 * - `tessera.<ns>.discovery.<from>`  HELLO / ANNOUNCE / heartbeat / BYE of `from`
 * - `tessera.<ns>.nr.<from>.<to>`    reply subject of messages `from` → `to`; the server
 *   answers a 503 "no responders" status there when nobody subscribes to `to` any more
 *
 * The sender sits in the last token so a receiver learns it with one `slice`, without
 * headers or a field in the payload.
 */
export interface Subjects {
  /** Subscribe here to receive messages addressed to this node (`...node.<me>.*`). */
  readonly inbox: string
  /** Prefix of `inbox` deliveries; the rest of the subject is the sender token. */
  readonly inboxPrefix: string
  /** Subscribe here for every node's discovery messages (`...discovery.*`). */
  readonly discovery: string
  readonly discoveryPrefix: string
  /** Where this node publishes its own discovery messages. */
  readonly ownDiscovery: string
  /** Subscribe here for no-responders statuses of this node's sends (`...nr.<me>.*`). */
  readonly noResponders: string
  readonly noRespondersPrefix: string
  /** Subject for messages from this node to `peer` (computed once per peer). */
  toPeer(peerToken: string): string
  /** Reply subject for messages from this node to `peer`. */
  replyFor(peerToken: string): string
}

const NAMESPACE = /^[A-Za-z0-9_-]+$/

/**
 * Builds the subjects for `namespace` and the local node. Throws BAD_REQUEST for a
 * namespace that is not a single plain subject token.
 *
 * @example
 * const s = natsSubjects('shop', 'node-1')
 * s.toPeer(nodeToken('node-2')) // 'tessera.shop.node.node-2.node-1'
 */
export function natsSubjects(namespace: string, localNodeId: string): Subjects {
  if (!NAMESPACE.test(namespace)) {
    throw new TesseraError(
      'BAD_REQUEST',
      `NATS namespace must match ${NAMESPACE}, got ${JSON.stringify(namespace)}`,
    )
  }
  const base = `tessera.${namespace}`
  const me = nodeToken(localNodeId)
  return {
    inbox: `${base}.node.${me}.*`,
    inboxPrefix: `${base}.node.${me}.`,
    discovery: `${base}.discovery.*`,
    discoveryPrefix: `${base}.discovery.`,
    ownDiscovery: `${base}.discovery.${me}`,
    noResponders: `${base}.nr.${me}.*`,
    noRespondersPrefix: `${base}.nr.${me}.`,
    toPeer: (peer) => `${base}.node.${peer}.${me}`,
    replyFor: (peer) => `${base}.nr.${me}.${peer}`,
  }
}

// Node ids are free text (often host names with dots); a subject token may not hold
// '.', whitespace, '*' or '>'. Everything outside [A-Za-z0-9_-] is %-escaped, so the
// mapping is reversible and common ids ('node-1', 'api-7f3a') stay unchanged.
const UNSAFE = /[^A-Za-z0-9_-]/

/**
 * The subject token for a node id; `nodeIdOf` reverses it.
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
