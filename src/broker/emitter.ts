import { randomUUID } from 'node:crypto'
import { type Clock, childSpan, formatTraceparent, type TraceContext } from '../context/index.ts'
import { type EmitOptions, isDurable } from '../contract/index.ts'
import { TesseraError } from '../errors/index.ts'
import type { Instrumentation } from '../observability/index.ts'
import type { DurableEnvelope, Transport } from '../transport/index.ts'
import type { WireContext } from '../wire/index.ts'
import { CallContext, type ContextPort } from './call-context.ts'
import { type EventRouter, undeclaredEvent } from './event-router.ts'
import { principalProofOf } from './principal-proofs.ts'
import type { ServiceHost } from './service-host.ts'

export interface EmitterDeps {
  nodeId: string
  clock: Clock
  host: ServiceHost
  router: EventRouter
  transport: Transport | undefined
  port: ContextPort
  /** Budget of an event handler: it is not bound by its emitter's deadline. */
  handlerTimeout: number
  /** Told of every emit (a tracer's producer span parents the deliveries); absent, nothing is called. */
  instrumentation: Instrumentation | undefined
}

/**
 * Emits events from handlers: validates the payload against the emitting service's
 * declaration, then sends one message per target node (or runs local handlers
 * directly). Delivery is at most once; it resolves once sent, not once handled.
 */
export class Emitter {
  readonly #d: EmitterDeps

  constructor(deps: EmitterDeps) {
    this.#d = deps
  }

  async emit(from: CallContext, event: string, payload: unknown, options?: EmitOptions): Promise<void> {
    const d = this.#d
    const validator = d.host.get(from.service)?.eventValidators[event]
    if (!validator) throw undeclaredEvent(from.service, event)
    const valid = validator.assert(payload, `event ${event}`)
    if (isDurable(validator.schema)) return this.#store(from, event, valid, options?.eventId)
    const ins = d.instrumentation
    const span = ins?.emitStarted?.(from.service, event, from.trace) as TraceContext | undefined
    let targets = 0
    try {
      targets = this.#send(from, event, valid, span)
    } catch (err) {
      ins?.emitEnded?.(
        from.service,
        event,
        span,
        err instanceof TesseraError ? err.code : 'INTERNAL',
        targets,
      )
      throw err
    }
    ins?.emitEnded?.(from.service, event, span, 'OK', targets)
  }

  /** A durable event: stored on the transport (resolves once it is), never routed at most once. */
  async #store(from: CallContext, event: string, valid: unknown, eventId: string | undefined): Promise<void> {
    const durable = this.#d.transport?.durable
    if (!durable) {
      throw new TesseraError(
        'BAD_REQUEST',
        `event ${event} of ${from.service} is declared durable(...), which needs a transport with durable events (natsTransport on a server with JetStream); ${this.#d.transport?.kind ?? 'no'} transport has none`,
        { service: from.service, event },
      )
    }
    const envelope: DurableEnvelope = {
      id: eventId ?? randomUUID(),
      event,
      service: from.service,
      payload: valid,
      requestId: from.requestId,
      traceparent: formatTraceparent(childSpan(from.trace)),
      at: this.#d.clock.now(),
      ...(from.principal && { principal: from.principal }),
    }
    await durable.publish(envelope)
  }

  /** Sends to every target node; returns how many. `span`: the producer span, parent of every delivery. */
  #send(from: CallContext, event: string, valid: unknown, span: TraceContext | undefined): number {
    const d = this.#d
    let targets = 0
    for (const [target, groups] of d.router.route(event)) {
      targets++
      const trace = span ?? childSpan(from.trace)
      if (target === d.nodeId) {
        d.host.deliverEvent(event, valid, groups, (group) => this.#context(group, trace, from))
        continue
      }
      d.transport?.send(target, {
        kind: 'event',
        event,
        payload: valid,
        groups,
        ctx: {
          requestId: from.requestId,
          traceparent: formatTraceparent(trace),
          caller: from.service,
          ...principalFields(from.principal),
          timeout: Math.max(0, from.deadline - d.clock.now()),
        },
      })
    }
    return targets
  }

  #context(service: string, trace: TraceContext, from: CallContext): CallContext {
    const d = this.#d
    return new CallContext(
      d.port,
      service,
      from.requestId,
      trace,
      from.service,
      from.principal,
      d.clock.now() + d.handlerTimeout,
      from.meta,
    )
  }
}

/** The principal of an event and, on a system with credentials, the proof that came with it. */
function principalFields(principal: CallContext['principal']): Partial<WireContext> {
  if (!principal) return {}
  const proof = principalProofOf(principal)
  return proof === undefined ? { principal } : { principal, principalProof: proof }
}
