import type { TSchema } from '@sinclair/typebox'

/** How a subscriber takes a durable event; every field has a default. */
export interface DurableOptions {
  /**
   * Deliveries of one event to one subscribing service before it goes to the dead
   * letters with the last error (a handler that threw, or one that never acked because
   * its process died or it outran `ackWaitMs`). Default 5.
   */
  maxDeliver?: number
  /** Wait before the n-th redelivery after a handler threw (the last entry repeats). Default [1000, 5000, 30000]. */
  backoffMs?: readonly number[]
  /** How long a delivery may stay unacked before the server redelivers it (a crashed consumer). Default 30000. */
  ackWaitMs?: number
}

export interface ResolvedDurable {
  readonly maxDeliver: number
  readonly backoffMs: readonly number[]
  readonly ackWaitMs: number
}

/** Where a durable event's options hide on its schema: a symbol, so JSON Schema and TypeBox never see it. */
const DURABLE = Symbol.for('tessera.durable')

/** Resolves a subscription's `durable` to its options; throws TypeError on values out of range. */
export function resolveDurable(options: true | DurableOptions): ResolvedDurable {
  const o = options === true ? {} : options
  const resolved: ResolvedDurable = {
    maxDeliver: o.maxDeliver ?? 5,
    backoffMs: o.backoffMs ?? [1000, 5000, 30000],
    ackWaitMs: o.ackWaitMs ?? 30_000,
  }
  if (!Number.isInteger(resolved.maxDeliver) || resolved.maxDeliver < 1) {
    throw new TypeError('durable: maxDeliver must be an integer of at least 1')
  }
  if (resolved.backoffMs.length === 0 || resolved.backoffMs.some((ms) => !(ms >= 0))) {
    throw new TypeError('durable: backoffMs must be a non-empty list of waits >= 0 ms')
  }
  if (!(resolved.ackWaitMs >= 100)) throw new TypeError('durable: ackWaitMs must be at least 100 ms')
  return resolved
}

/**
 * Marks an event schema durable: emitting it stores the event (on NATS, in the
 * system's JetStream stream) before `emit` resolves, and each subscribing service that
 * says `durable` in its subscription gets it at least once, acked after its handler
 * succeeds, redelivered with backoff, dead-lettered after `maxDeliver` (the subscriber
 * chooses those: how to retry is its handler's business). Handlers see `ctx.eventId`
 * (the same on every redelivery) to drop repeats. Events without it stay at most once
 * and cost nothing more. A transport without durable delivery refuses the emit with
 * BAD_REQUEST (docs/events.md).
 *
 * @example
 * events: { 'order.placed': durable(Type.Object({ orderId: Type.String() })) }
 */
export function durable<S extends TSchema>(schema: S): S {
  return Object.defineProperty({ ...schema }, DURABLE, { value: true, enumerable: false }) as S
}

/** True for a schema made with `durable`. */
export function isDurable(schema: TSchema | undefined): boolean {
  return schema !== undefined && (schema as { [DURABLE]?: boolean })[DURABLE] === true
}
