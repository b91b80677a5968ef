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
  envelope: DurableEnvelope
  service: string
  deliveries: number
  error: string
  at: number
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
}

export interface DurableConsumer {
  /** Stops taking deliveries; what is in hand finishes or is redelivered elsewhere. */
  stop(): Promise<void>
}
