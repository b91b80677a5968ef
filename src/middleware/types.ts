import type { Principal, TraceContext } from '../context/index.ts'
import type { ActionPolicy } from '../contract/index.ts'

/** One instance of a service that can take a call. */
export interface Endpoint {
  nodeId: string
  /** True when the instance lives in this broker (no transport hop). */
  local: boolean
}

/**
 * One outgoing call as the caller-side pipeline sees it. Middleware never mutates
 * it: a policy that changes something (the endpoint, the attempt) passes a copy on.
 */
export interface Call {
  readonly service: string
  readonly action: string
  readonly input: unknown
  /** Undefined at the edge: the callee then uses its trace id. */
  readonly requestId: string | undefined
  /** The caller's span; undefined at the edge, where the callee starts a new trace. */
  readonly trace: TraceContext | undefined
  readonly caller: string | undefined
  readonly principal: Principal | undefined
  readonly meta: Readonly<Record<string, string>> | undefined
  /** Absolute deadline on the local clock. */
  readonly deadline: number
  /** Aborts when the caller cancels; the deadline is enforced separately. */
  readonly signal: AbortSignal | undefined
  readonly idempotent: boolean
  readonly policy: ActionPolicy
  /** 1 for the first attempt. */
  readonly attempt: number
  /**
   * Node ids chosen so far in this call, shared by all its attempts: the balancing
   * step appends each choice, and avoids earlier ones on a retry when it can.
   */
  readonly tried: string[]
  /** Caller-supplied answer when every attempt failed (see the fallback policy). */
  readonly fallback: ((error: unknown) => unknown) | undefined
  /**
   * Chosen by the balancing step for this attempt and set on this attempt's own call
   * object (each retry passes on a fresh copy): the one field a step may write, to
   * spare a copy of the whole call on every remote call.
   */
  endpoint?: Endpoint
}

export type Next = (call: Call) => Promise<unknown>

/** A policy: does something around `next`. Dependencies (clock, state) live in its closure. */
export type Middleware = (call: Call, next: Next) => Promise<unknown>
