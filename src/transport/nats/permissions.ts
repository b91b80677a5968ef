import { durablePermissions } from './durable-permissions.ts'
import { natsSubjectBase, nodeToken } from './subjects.ts'

/** A nats-server user's `permissions` block: subjects it may publish and subscribe to. */
export interface NatsPermissions {
  publish: { allow: string[] }
  subscribe: { allow: string[] }
}

/**
 * The least a node of `unit` needs on the server (subjects.ts): publish only with its
 * own unit in the sender position (to any node, and on its own discovery and gone
 * subjects), and subscribe only to messages addressed to its unit, to discovery and gone
 * hints, and to the
 * no-responders statuses of its own sends. Everything else is denied, so a client
 * logged in as this unit can neither send as another unit nor read another unit's
 * messages. Nobody may publish on `nr.>`: only the server's 503 status arrives there.
 * Durable events add their subjects (durable-permissions.ts).
 *
 * @example
 * natsPermissions('shop', 'orders').publish.allow
 * // ['tessera.shop.node.*.*.orders.*', 'tessera.shop.discovery.orders.*', 'tessera.shop.gone.orders.*',
 * //  'tessera.shop.durable.orders.>', ...the JetStream API on the system's streams]
 */
export function natsPermissions(namespace: string, unit: string): NatsPermissions {
  const base = natsSubjectBase(namespace)
  const u = nodeToken(unit)
  const durable = durablePermissions(namespace, unit)
  return {
    publish: {
      allow: [
        `${base}.node.*.*.${u}.*`,
        `${base}.discovery.${u}.*`,
        `${base}.gone.${u}.*`,
        ...durable.publish,
      ],
    },
    subscribe: {
      allow: [
        `${base}.node.${u}.*.*.*`,
        `${base}.discovery.*.*`,
        `${base}.gone.*.*`,
        `${base}.nr.${u}.*.*`,
        ...durable.subscribe,
      ],
    },
  }
}

/** One user of a generated `authorization` block. */
export interface NatsServerUser {
  /** The user's nkey public key (`U...`). */
  nkey: string
  permissions: NatsPermissions
  /** Written as a comment above the user, e.g. the unit it is for. */
  comment?: string
}

/**
 * A nats-server `authorization { users: [...] }` block (the server's config syntax;
 * strings JSON-quoted, which it accepts). It holds public keys and permissions only, so
 * it can be handed to whoever runs the server.
 *
 * @example
 * natsAuthorizationBlock([{ nkey: 'UA…', permissions: natsPermissions('shop', 'orders') }])
 */
export function natsAuthorizationBlock(users: NatsServerUser[]): string {
  const q = (s: string) => JSON.stringify(s)
  const list = (subjects: string[]) => `[${subjects.map(q).join(', ')}]`
  const lines = ['authorization {', '  users: [']
  for (const user of users) {
    if (user.comment !== undefined) lines.push(`    # ${user.comment.replace(/[\r\n]+/g, ' ')}`)
    lines.push(
      `    { nkey: ${q(user.nkey)}, permissions: {`,
      `        publish: { allow: ${list(user.permissions.publish.allow)} }`,
      `        subscribe: { allow: ${list(user.permissions.subscribe.allow)} }`,
      '    } }',
    )
  }
  lines.push('  ]', '}')
  return `${lines.join('\n')}\n`
}
