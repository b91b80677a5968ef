import { randomBytes } from 'node:crypto'
import { type Broker, createBroker } from '../../broker/index.ts'
import { TesseraError } from '../../errors/index.ts'
import type { DeadEvent, DurableEvents, Transport } from '../../transport/index.ts'
import { SUPERVISOR_UNIT } from '../config/index.ts'
import type { Supervisor } from '../supervisor/index.ts'

/** What `replay` and `discard` answer: the keys acted on and those that named no dead letter. */
export interface DeadLetterOutcome {
  done: string[]
  notFound: string[]
}

/** The dead letters of a running system, as the control API serves them. */
export interface DeadLetterOps {
  list(service?: string): Promise<DeadEvent[]>
  show(key: string): Promise<DeadEvent>
  /** `keys`, or with `all` every dead letter of `service`. */
  replay(selection: { keys?: readonly string[]; service?: string; all?: boolean }): Promise<DeadLetterOutcome>
  discard(keys: readonly string[]): Promise<DeadLetterOutcome>
  close(): Promise<void>
}

/**
 * Dead letters through the system's own transport (`DurableEvents`, decision 0027). The
 * first use joins the system as one more node of the `supervisor` unit, hosting nothing
 * (on NATS its login may replay and discard; no service unit's may), and keeps it until
 * `close`. A transport without durable events (no JetStream; a socket transport without
 * a store) answers BAD_REQUEST saying so, as the broker does for a durable emit.
 */
export function deadLetterOps(sup: Supervisor): DeadLetterOps {
  let joined: Promise<{ broker: Broker; transport: Transport }> | undefined
  const durable = async (): Promise<DurableEvents> => {
    joined ??= (async () => {
      const node = `${sup.config.name}-dead-letters-${process.pid}-${randomBytes(3).toString('hex')}`
      const { credential, transport } = await sup.join({ node, unit: SUPERVISOR_UNIT })
      const broker = createBroker({ nodeId: node, credential, transport })
      await broker.start()
      return { broker, transport }
    })().catch((err: unknown) => {
      joined = undefined
      throw err
    })
    const { transport } = await joined
    const events = transport.durable
    if (!events)
      throw new TesseraError(
        'BAD_REQUEST',
        `the ${transport.kind} transport of ${sup.config.name} has no durable events, so no dead letters (on NATS they need a server with JetStream)`,
        { transport: transport.kind },
      )
    return events
  }
  const outcome = (asked: readonly string[], done: string[]): DeadLetterOutcome => ({
    done,
    notFound: [...new Set(asked)].filter((k) => !done.includes(k)),
  })
  return {
    list: async (service) => (await durable()).dead(service),
    async show(key) {
      const dead = await (await durable()).deadEvent(checkKey(key))
      if (!dead) throw new TesseraError('NOT_FOUND', `no dead letter ${key}`, { key })
      return dead
    },
    async replay(selection) {
      const events = await durable()
      const keys = selection.all
        ? (await events.dead(selection.service)).map((d) => d.key)
        : (selection.keys ?? []).map(checkKey)
      return outcome(keys, await events.replay(keys))
    },
    async discard(keys) {
      const checked = keys.map(checkKey)
      return outcome(checked, await (await durable()).discard(checked))
    },
    async close() {
      const j = joined
      joined = undefined
      if (j) await (await j.catch(() => undefined))?.broker.stop()
    },
  }
}

/** A key is `<service>:<event id>`; anything else is a BAD_REQUEST naming the shape. */
export function checkKey(key: string): string {
  const colon = key.indexOf(':')
  if (colon <= 0 || colon === key.length - 1)
    throw new TesseraError(
      'BAD_REQUEST',
      `${JSON.stringify(key)} is not a dead-letter key (<service>:<event id>)`,
      {
        key,
      },
    )
  return key
}
