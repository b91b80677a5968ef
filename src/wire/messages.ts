import type { Principal } from '../context/index.ts'
import type { EventMode, HttpRoute, PolicyOverrides } from '../contract/index.ts'
import type { WireError } from '../errors/index.ts'
import type { Identity } from '../identity/index.ts'

/**
 * What a node tells its peers about itself. Callers never load a callee's code, so
 * everything a caller needs to route and to apply policies travels here as data.
 */
export interface NodeInfo {
  nodeId: string
  /** Increases with every announcement of this node; older ones are ignored. */
  seq: number
  services: ServiceInfo[]
  /** Informational (pid, host, started at); never used for routing. */
  meta?: Record<string, string | number>
  /**
   * Who the node is, as its verified certificate says. Set by the receiving transport
   * once the peer proved it holds the certificate's key; never read off the wire.
   * Undefined on systems that run without credentials.
   */
  identity?: Identity
}

export interface ServiceInfo {
  name: string
  version: string
  /** Service-level policy defaults as declared by the service. */
  policy?: PolicyOverrides
  actions: Record<string, ActionInfo>
  /** Event name → how this service subscribes to it. */
  subscriptions: Record<string, EventMode>
}

export interface ActionInfo {
  idempotent: boolean
  policy?: PolicyOverrides
  /** The gateway route, when the action is exposed over HTTP. */
  http?: HttpRoute
  /** JSON Schema of the input and output (TypeBox schemas are JSON Schema), for gateways and docs. */
  input?: unknown
  output?: unknown
  description?: string
}

/** The call context as it crosses a process boundary. */
export interface WireContext {
  requestId: string
  /** W3C traceparent of the caller's span. */
  traceparent: string
  tracestate?: string
  caller?: string
  principal?: Principal
  /**
   * The principal signed by the node that verified it (identity/principal-proof.ts).
   * On a system with credentials a callee takes the principal from here only.
   */
  principalProof?: string
  /** Time left before the deadline, in ms, at the moment of sending. */
  timeout: number
  meta?: Record<string, string>
}

/** `id` is unique per sending node and connection lifetime; the reply echoes it. */
export interface RequestMessage {
  kind: 'request'
  id: number
  service: string
  action: string
  input: unknown
  ctx: WireContext
  /**
   * At-most-once delivery across link losses (docs/protocol.md §6.5, decision 0033), set
   * by the NATS transport only, and only towards peers that announce support:
   * 1 — keep this request's outcome, the sender may send it again;
   * 2 — a resend of request `id` (same id, same caller): attach to it, or answer what it
   * answered, or run it if it never arrived. Absent: a plain request.
   */
  once?: 1 | 2
}

export type ResponseMessage =
  | { kind: 'response'; id: number; ok: true; output: unknown }
  | { kind: 'response'; id: number; ok: false; error: WireError }

/**
 * One event delivered to one node. `groups` names the subscribing services on that
 * node that must handle it (the sender chose this node for them); the receiver runs
 * each group's handler once.
 */
export interface EventMessage {
  kind: 'event'
  event: string
  payload: unknown
  groups: string[]
  ctx: WireContext
}

/** The caller gave up (deadline or abort): the callee aborts the handler's signal. */
export interface CancelMessage {
  kind: 'cancel'
  id: number
}

export type Message = RequestMessage | ResponseMessage | EventMessage | CancelMessage
