import type { Principal } from '../context/index.ts'
import { answeredErrorData, isCallFailure, normalizeError, TesseraError } from '../errors/index.ts'
import { type Identity, mayHost, type PrincipalVerifier } from '../identity/index.ts'
import type { Logger } from '../observability/index.ts'
import type { Transport } from '../transport/index.ts'
import type { EventMessage, Message, RequestMessage, WireContext } from '../wire/index.ts'
import { CallContext, type ContextPort } from './call-context.ts'
import { EMPTY_META } from './dispatch.ts'
import type { PendingRequests } from './pending-requests.ts'
import { attachPrincipalProof } from './principal-proofs.ts'
import type { Completion, ServiceHost } from './service-host.ts'

export interface InboundDeps {
  host: ServiceHost
  transport: Transport
  pending: PendingRequests
  port: ContextPort
  logger: Logger
  /** Send stacks with errors (never in production). */
  debug: boolean
  /**
   * On a node with a credential: how to learn a peer's verified identity and check
   * principal proofs. Then a message from a peer without an identity, or with a
   * principal that no proof vouches for, is refused (logged; nothing runs).
   */
  verify?: { identityOf(nodeId: string): Identity | undefined; principals: PrincipalVerifier }
}

/** Who sent a message and for whom, once checked; or why it is refused. */
type Vetted = { caller: string | undefined; unit: string | undefined; principal: Principal | undefined }

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
        this.#event(from, msg)
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

  #context(wire: WireContext, service: string, vetted: Vetted): CallContext {
    const ctx = new CallContext(
      this.#deps.port,
      service,
      wire.requestId,
      undefined,
      vetted.caller,
      vetted.principal,
      this.#deps.port.now() + Math.max(0, wire.timeout),
      wire.meta ?? EMPTY_META,
    )
    ctx.callerUnit = vetted.unit
    ctx.useWireParent(wire.traceparent, wire.tracestate)
    return ctx
  }

  /**
   * Without credentials, the context as the peer sent it. With them: the peer must have
   * a verified identity; the caller it names must be one of that identity's services
   * (else the call counts as its unit's); a principal is taken from its proof only.
   */
  #vet(from: string, wire: WireContext, what: string): Vetted | string {
    const verify = this.#deps.verify
    if (!verify) return { caller: wire.caller, unit: undefined, principal: wire.principal }
    const identity = verify.identityOf(from)
    if (!identity) return `node ${from} has no verified identity`
    const caller = wire.caller !== undefined && mayHost(identity, wire.caller) ? wire.caller : undefined
    if (wire.principalProof === undefined) {
      if (wire.principal !== undefined)
        return `${what} from ${identity.unit} names a principal no proof vouches for`
      return { caller, unit: identity.unit, principal: undefined }
    }
    const checked = verify.principals.check(wire.principalProof)
    if ('refused' in checked) return `${what} from ${identity.unit}: ${checked.refused}`
    // A fresh object per message: the handler may not alter what the cache holds.
    const principal = structuredClone(checked.principal)
    attachPrincipalProof(principal, wire.principalProof)
    return { caller, unit: identity.unit, principal }
  }

  #request(from: string, msg: RequestMessage): void {
    const vetted = this.#vet(from, msg.ctx, `call to ${msg.service}.${msg.action}`)
    if (typeof vetted === 'string') {
      this.#deps.logger.warn({ from, service: msg.service, action: msg.action, why: vetted }, 'call refused')
      const error = new TesseraError('UNAUTHORIZED', `call refused: ${vetted}`)
      this.#deps.transport.send(from, { kind: 'response', id: msg.id, ok: false, error: error.toWire(false) })
      return
    }
    const ctx = this.#context(msg.ctx, msg.service, vetted)
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

  #event(from: string, msg: EventMessage): void {
    const vetted = this.#vet(from, msg.ctx, `event ${msg.event}`)
    if (typeof vetted === 'string') {
      this.#deps.logger.warn({ from, event: msg.event, why: vetted }, 'event refused')
      return
    }
    this.#deps.host.deliverEvent(msg.event, msg.payload, msg.groups, (service) =>
      this.#context(msg.ctx, service, vetted),
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
    // Failures are logged through the call's own logger: the line names its request and trace.
    const ctx = this.running.get(msg.id)
    this.running.delete(msg.id)
    if (err === undefined) {
      try {
        transport.send(from, { kind: 'response', id: msg.id, ok: true, output })
      } catch (encodeErr) {
        logOf(ctx, logger).error(
          { service: msg.service, action: msg.action, err: encodeErr },
          'output cannot be encoded',
        )
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
      logOf(ctx, logger).error(
        { service: msg.service, action: msg.action, err: error.cause ?? error },
        'handler failed',
      )
    }
    const wire = error.toWire(debug)
    // This request was delivered, whatever the failure passed on says of a deeper one.
    const data = answeredErrorData(wire.data, isCallFailure(err))
    if (data === undefined) delete wire.data
    else wire.data = data
    transport.send(from, { kind: 'response', id: msg.id, ok: false, error: wire })
  }
}

/** The call's logger, made only when a line is written (a call that succeeds costs none). */
function logOf(ctx: CallContext | undefined, fallback: Logger): Logger {
  return ctx === undefined ? fallback : ctx.log
}
