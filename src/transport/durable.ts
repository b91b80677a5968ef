import type { Principal } from '../context/index.ts'

/** A durable event as stored: what a handler needs to run it later, anywhere. */
export interface DurableEnvelope {
  /** The event id: dedup id on the store, `ctx.eventId` for handlers. */
  id: string
  event: string
  /** The emitting service. */
  service: string
  payload: unknown
  requestId: string
  traceparent: string
  principal?: Principal
  /** ms since epoch when emitted. */
  at: number
}

/** One subscription to a durable event, as the broker asks for it. */
export interface DurableConsumerSpec {
  /** The subscribing service (balanced: its instances share one consumer). */
  service: string
  event: string
  mode: 'balanced' | 'broadcast'
  /** This node, naming a broadcast consumer. */
  nodeId: string
  maxDeliver: number
  backoffMs: readonly number[]
  ackWaitMs: number
}

/** A dead-lettered event: the envelope, who could not handle it and why. */
export interface DeadEvent {
  /** `${service}:${envelope.id}`: names this dead letter for `deadEvent`, `replay`, `discard`. */
  key: string
  envelope: DurableEnvelope
  /** The subscribing service that could not handle it. */
  service: string
  /** Deliveries made before it was dead-lettered. */
  deliveries: number
  /** The last delivery's error, as `CODE: message`. */
  error: string
  /** ms since epoch when it was dead-lettered. */
  at: number
}

/** The key of a dead letter: the subscribing service and the event id. */
export function deadKey(service: string, eventId: string): string {
  return `${service}:${eventId}`
}

/**
 * Durable events on a transport that can store them (NATS with JetStream). `publish`
 * resolves once the event is stored, rejects UNAVAILABLE when it is not; `consume` runs
 * `handle` for each delivery and acks when it resolves, redelivers with backoff when it
 * rejects, and dead-letters after `maxDeliver`. Transports without a store leave
 * `Transport.durable` undefined; the broker then refuses durable events.
 */
export interface DurableEvents {
  publish(envelope: DurableEnvelope): Promise<void>
  consume(
    spec: DurableConsumerSpec,
    handle: (envelope: DurableEnvelope) => Promise<void>,
  ): Promise<DurableConsumer>
  /** Dead letters, oldest first (optionally one subscribing service's). */
  dead(service?: string): Promise<DeadEvent[]>
  /** One dead letter by its key; undefined when there is none (never dead, replayed, discarded). */
  deadEvent(key: string): Promise<DeadEvent | undefined>
  /**
   * Delivers each dead letter again to the subscribing service that failed it, and to
   * that service only (not to the other services subscribed to the event), with a fresh
   * delivery count, and removes it from the dead letters. Resolves the keys replayed, in
   * the order given; unknown keys (and repeats) are left out. A replayed event that fails
   * `maxDeliver` times again is dead-lettered again under the same key. A balanced
   * service gets it once (one instance); a broadcast one on every instance listening now.
   */
  replay(keys: readonly string[]): Promise<string[]>
  /** Removes dead letters without delivering them; resolves the keys removed (unknown left out). */
  discard(keys: readonly string[]): Promise<string[]>
}

export interface DurableConsumer {
  /** Stops taking deliveries; what is in hand finishes or is redelivered elsewhere. */
  stop(): Promise<void>
}
