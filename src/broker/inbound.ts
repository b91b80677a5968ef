import { parseTraceparent } from '../context/index.ts'
import { normalizeError, TesseraError } from '../errors/index.ts'
import type { Logger } from '../observability/index.ts'
import type { EventMessage, Message, RequestMessage, Transport, WireContext } from '../transport/index.ts'
import { CallContext, type ContextPort } from './call-context.ts'
import type { PendingRequests } from './pending-requests.ts'
import type { ServiceHost } from './service-host.ts'

export interface InboundDeps {
  host: ServiceHost
  transport: Transport
  pending: PendingRequests
  port: ContextPort
  logger: Logger
  /** Send stacks with errors (never in production). */
  debug: boolean
}

/**
 * Handles what peers send: runs their requests on the local host and answers,
 * settles our own pending requests with their answers, runs events, and aborts
 * handlers whose caller cancelled or left.
 */
export class Inbound {
  readonly #deps: InboundDeps
  /** Requests from peers being handled, by `${nodeId}\0${id}`, for cancellation. */
  readonly #running = new Map<string, CallContext>()

  constructor(deps: InboundDeps) {
    this.#deps = deps
  }

  onMessage(from: string, msg: Message): void {
    switch (msg.kind) {
      case 'request':
        this.#request(from, msg)
        return
      case 'response':
        this.#deps.pending.settle(from, msg)
        return
      case 'event':
        this.#event(msg)
        return
      case 'cancel':
        this.#running
          .get(key(from, msg.id))
          ?.abort(new TesseraError('CANCELLED', 'the caller cancelled the call'))
        return
    }
  }

  /** A peer left: its requests still running here have nobody to answer to. */
  peerGone(nodeId: string): void {
    const prefix = `${nodeId}\u0000`
    for (const [k, ctx] of this.#running) {
      if (k.startsWith(prefix)) ctx.abort(new TesseraError('CANCELLED', `caller node ${nodeId} left`))
    }
  }

  #context(wire: WireContext, service: string): CallContext {
    const parent = parseTraceparent(wire.traceparent, wire.tracestate)
    return new CallContext(
      this.#deps.port,
      service,
      wire.requestId,
      parent,
      wire.caller,
      wire.principal,
      this.#deps.port.now() + Math.max(0, wire.timeout),
      wire.meta ?? {},
    )
  }

  #request(from: string, msg: RequestMessage): void {
    const { host, transport, debug } = this.#deps
    const ctx = this.#context(msg.ctx, msg.service)
    const k = key(from, msg.id)
    this.#running.set(k, ctx)
    host.invoke(msg.service, msg.action, msg.input, ctx).then(
      (output) => {
        this.#running.delete(k)
        try {
          transport.send(from, { kind: 'response', id: msg.id, ok: true, output })
        } catch (err) {
          this.#deps.logger.error(
            { service: msg.service, action: msg.action, err },
            'output cannot be encoded',
          )
          const error = new TesseraError(
            'INTERNAL',
            `${msg.service}.${msg.action} returned an unencodable output`,
          )
          transport.send(from, { kind: 'response', id: msg.id, ok: false, error: error.toWire(debug) })
        }
      },
      (err: unknown) => {
        this.#running.delete(k)
        const error = normalizeError(err)
        if (error.code === 'INTERNAL') {
          this.#deps.logger.error(
            { service: msg.service, action: msg.action, err: error.cause ?? error },
            'handler failed',
          )
        }
        transport.send(from, { kind: 'response', id: msg.id, ok: false, error: error.toWire(debug) })
      },
    )
  }

  #event(msg: EventMessage): void {
    this.#deps.host.deliverEvent(msg.event, msg.payload, msg.groups, (service) =>
      this.#context(msg.ctx, service),
    )
  }
}

function key(nodeId: string, id: number): string {
  return `${nodeId}\u0000${id}`
}
