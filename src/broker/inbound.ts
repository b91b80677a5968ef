import { parseTraceparent } from '../context/index.ts'
import { normalizeError, TesseraError } from '../errors/index.ts'
import type { Logger } from '../observability/index.ts'
import type { Transport } from '../transport/index.ts'
import type { EventMessage, Message, RequestMessage, WireContext } from '../wire/index.ts'
import { CallContext, type ContextPort } from './call-context.ts'
import { EMPTY_META } from './dispatch.ts'
import type { PendingRequests } from './pending-requests.ts'
import type { Completion, ServiceHost } from './service-host.ts'

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
  /** Requests from peers being handled, by caller node then request id, for cancellation. */
  readonly #running = new Map<string, Map<number, CallContext>>()

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
          .get(from)
          ?.get(msg.id)
          ?.abort(new TesseraError('CANCELLED', 'the caller cancelled the call'))
        return
    }
  }

  /** A peer left: its requests still running here have nobody to answer to. */
  peerGone(nodeId: string): void {
    const running = this.#running.get(nodeId)
    if (!running) return
    this.#running.delete(nodeId)
    for (const ctx of running.values()) ctx.abort(new TesseraError('CANCELLED', `caller node ${nodeId} left`))
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
      wire.meta ?? EMPTY_META,
    )
  }

  #request(from: string, msg: RequestMessage): void {
    const ctx = this.#context(msg.ctx, msg.service)
    let running = this.#running.get(from)
    if (!running) {
      running = new Map()
      this.#running.set(from, running)
    }
    running.set(msg.id, ctx)
    const call = new InboundCall(this.#deps, from, msg, running)
    const { host } = this.#deps
    const entry = host.lookup(msg.service, msg.action)
    if (!entry) {
      call.complete(host.missing(msg.service, msg.action))
      return
    }
    try {
      host.run(entry, msg.input, ctx, call)
    } catch (err) {
      call.complete(err ?? new TesseraError('INTERNAL', 'unknown failure'))
    }
  }

  #event(msg: EventMessage): void {
    this.#deps.host.deliverEvent(msg.event, msg.payload, msg.groups, (service) =>
      this.#context(msg.ctx, service),
    )
  }
}

/** One request from a peer being handled here: its own completion, so it costs one object. */
class InboundCall implements Completion {
  #done = false
  constructor(
    readonly deps: InboundDeps,
    readonly from: string,
    readonly msg: RequestMessage,
    readonly running: Map<number, CallContext>,
  ) {}

  complete(err: unknown, output?: unknown): void {
    if (this.#done) return
    this.#done = true
    const { transport, logger, debug } = this.deps
    const { from, msg } = this
    this.running.delete(msg.id)
    if (err === undefined) {
      try {
        transport.send(from, { kind: 'response', id: msg.id, ok: true, output })
      } catch (encodeErr) {
        logger.error({ service: msg.service, action: msg.action, err: encodeErr }, 'output cannot be encoded')
        const error = new TesseraError(
          'INTERNAL',
          `${msg.service}.${msg.action} returned an unencodable output`,
        )
        transport.send(from, { kind: 'response', id: msg.id, ok: false, error: error.toWire(debug) })
      }
      return
    }
    const error = normalizeError(err)
    if (error.code === 'INTERNAL') {
      logger.error({ service: msg.service, action: msg.action, err: error.cause ?? error }, 'handler failed')
    }
    transport.send(from, { kind: 'response', id: msg.id, ok: false, error: error.toWire(debug) })
  }
}
