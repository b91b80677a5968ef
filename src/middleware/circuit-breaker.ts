import type { Clock } from '../context/index.ts'
import type { BreakerPolicy } from '../contract/index.ts'
import { type ErrorCode, markCallFailure, normalizeError, TesseraError } from '../errors/index.ts'
import { RollingWindow } from './rolling-window.ts'
import type { Call, Middleware } from './types.ts'

/** The three states of a circuit, as their names. */
export const BreakerStates = { closed: 'closed', open: 'open', halfOpen: 'half-open' } as const
export type BreakerStateName = (typeof BreakerStates)[keyof typeof BreakerStates]

/** Reported to `onChange` whenever one endpoint's circuit changes state. */
export type BreakerChange = {
  type: 'opened' | 'half-opened' | 'closed'
  service: string
  nodeId: string
}

type BreakerState =
  | { readonly type: typeof BreakerStates.closed }
  | { readonly type: typeof BreakerStates.open; readonly until: number }
  | { readonly type: typeof BreakerStates.halfOpen; trialInFlight: boolean }

const CLOSED: BreakerState = { type: BreakerStates.closed }

interface Breaker {
  readonly service: string
  readonly nodeId: string
  state: BreakerState
  /** Bumped on every state change; outcomes of calls admitted in an older generation are ignored. */
  generation: number
  readonly window: RollingWindow
}

/** Errors that say the endpoint is unhealthy. Caller mistakes (VALIDATION, NOT_FOUND...) count as successes. */
const FAILURE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'UNAVAILABLE',
  'TIMEOUT',
  'INTERNAL',
  'OVERLOADED',
])

export interface BreakerRegistryOptions {
  clock: Pick<Clock, 'now'>
  /** Told about every state change (for logs and metrics); must not throw. */
  onChange?: (change: BreakerChange) => void
  /** Told of every attempt refused with CIRCUIT_OPEN (for traces and metrics); must not throw. */
  onReject?: (call: Call, nodeId: string) => void
}

/** Circuit breakers for every endpoint this caller talks to, one per (service, node). */
export interface BreakerRegistry {
  /** The caller-side step; runs after balancing, since it needs `call.endpoint`. */
  middleware(): Middleware
  /** False while the circuit is open, or half-open with its trial call in flight. */
  isAvailable(service: string, nodeId: string): boolean
  /** Drops every breaker of a node (it left the cluster). */
  forget(nodeId: string): void
  /** The current state; `closed` for an endpoint never called. */
  state(service: string, nodeId: string): BreakerStateName
}

/**
 * Keeps one circuit breaker per endpoint (`service` on `nodeId`), created on first use.
 *
 * Closed: calls pass; outcomes go into a rolling window of `policy.breaker.windowMs`
 * (ten count buckets). When the window holds at least `minCalls` outcomes and
 * failures/total >= `failureRatio`, the circuit opens. Failures are UNAVAILABLE,
 * TIMEOUT, INTERNAL, OVERLOADED and unknown throws; CANCELLED (the caller gave up) and
 * errors marked `upstream` (the instance passed on another service's failure) count as
 * nothing; every other error is the caller's fault and counts as success.
 *
 * Open: calls fail at once with CIRCUIT_OPEN (data `{ service, nodeId }`, retryable,
 * so a retry goes to another node). After `openMs` the circuit is half-open.
 *
 * Half-open: exactly one trial call is let through, the rest get CIRCUIT_OPEN.
 * A successful trial closes the circuit with an empty window; a failed one opens it
 * again for `openMs`; a cancelled one frees the trial slot for the next call.
 *
 * Outcomes of calls admitted before the latest state change are ignored, so slow calls
 * from before an opening cannot close or re-open the circuit. The thresholds are read
 * from each call's policy; the window's width is fixed when the breaker is created.
 * A call with `policy.breaker === false` or no `endpoint` passes through untouched.
 *
 * @example
 * const breakers = createBreakerRegistry({ clock: systemClock })
 * registry.onChange((c) => c.type === 'left' && breakers.forget(c.node.nodeId))
 * const send = pipeline([retry(...), balance(...), breakers.middleware()], transport)
 */
export function createBreakerRegistry(options: BreakerRegistryOptions): BreakerRegistry {
  const { clock, onChange, onReject } = options
  const byNode = new Map<string, Map<string, Breaker>>()

  const find = (service: string, nodeId: string): Breaker | undefined => byNode.get(nodeId)?.get(service)

  const obtain = (service: string, nodeId: string, policy: BreakerPolicy): Breaker => {
    let services = byNode.get(nodeId)
    if (!services) {
      services = new Map()
      byNode.set(nodeId, services)
    }
    let breaker = services.get(service)
    if (!breaker) {
      breaker = { service, nodeId, state: CLOSED, generation: 0, window: new RollingWindow(policy.windowMs) }
      services.set(service, breaker)
    }
    return breaker
  }

  const transition = (breaker: Breaker, state: BreakerState): void => {
    breaker.state = state
    breaker.generation++
    if (state.type === BreakerStates.closed) breaker.window.reset()
    onChange?.({ type: changeType(state), service: breaker.service, nodeId: breaker.nodeId })
  }

  /** Turns an expired open state into half-open; returns the state after that. */
  const current = (breaker: Breaker): BreakerState => {
    const state = breaker.state
    if (state.type === BreakerStates.open && clock.now() >= state.until) {
      transition(breaker, { type: BreakerStates.halfOpen, trialInFlight: false })
    }
    return breaker.state
  }

  const record = (breaker: Breaker, generation: number, outcome: Outcome, policy: BreakerPolicy): void => {
    if (breaker.generation !== generation) return
    const state = breaker.state
    switch (state.type) {
      case BreakerStates.closed: {
        if (outcome === 'neutral') return
        const now = clock.now()
        breaker.window.add(now, outcome === 'failure')
        const { failures, total } = breaker.window.totals(now)
        if (total >= policy.minCalls && failures >= policy.failureRatio * total) {
          transition(breaker, { type: BreakerStates.open, until: now + policy.openMs })
        }
        return
      }
      case BreakerStates.halfOpen:
        if (outcome === 'neutral') state.trialInFlight = false
        else if (outcome === 'success') transition(breaker, CLOSED)
        else transition(breaker, { type: BreakerStates.open, until: clock.now() + policy.openMs })
        return
      case BreakerStates.open:
        return
      default:
        assertNever(state)
    }
  }

  return {
    middleware(): Middleware {
      // Not async: every remote call passes here, and an async function costs a promise,
      // a generator and a resume on top of the `then` that records the outcome.
      return (call, next) => {
        const policy = call.policy.breaker
        const endpoint = call.endpoint
        if (policy === false || endpoint === undefined) return next(call)
        const { service } = call
        const { nodeId } = endpoint
        const breaker = obtain(service, nodeId, policy)
        const state = current(breaker)
        if (
          state.type === BreakerStates.open ||
          (state.type === BreakerStates.halfOpen && state.trialInFlight)
        ) {
          onReject?.(call, nodeId)
          return Promise.reject(
            markCallFailure(
              new TesseraError('CIRCUIT_OPEN', `circuit open for ${service} on node ${nodeId}`, {
                service,
                nodeId,
              }),
            ),
          )
        }
        if (state.type === BreakerStates.halfOpen) state.trialInFlight = true
        const generation = breaker.generation
        let sent: Promise<unknown>
        try {
          sent = next(call)
        } catch (err) {
          record(breaker, generation, classify(err), policy)
          return Promise.reject(err)
        }
        return sent.then(
          (result) => {
            record(breaker, generation, 'success', policy)
            return result
          },
          (err: unknown) => {
            record(breaker, generation, classify(err), policy)
            throw err
          },
        )
      }
    },

    isAvailable(service, nodeId) {
      const breaker = find(service, nodeId)
      if (!breaker) return true
      const state = current(breaker)
      return (
        state.type === BreakerStates.closed || (state.type === BreakerStates.halfOpen && !state.trialInFlight)
      )
    },

    forget(nodeId) {
      byNode.delete(nodeId)
    },

    state(service, nodeId) {
      const breaker = find(service, nodeId)
      return breaker ? current(breaker).type : BreakerStates.closed
    },
  }
}

type Outcome = 'success' | 'failure' | 'neutral'

function classify(err: unknown): Outcome {
  const { code, data } = normalizeError(err)
  // The caller gave up, or the instance passed on the failure of a call of its own (it
  // answered; another service failed): neither says anything of this instance's health.
  if (code === 'CANCELLED' || data?.upstream === true) return 'neutral'
  return FAILURE_CODES.has(code) ? 'failure' : 'success'
}

function changeType(state: BreakerState): BreakerChange['type'] {
  switch (state.type) {
    case BreakerStates.closed:
      return 'closed'
    case BreakerStates.open:
      return 'opened'
    case BreakerStates.halfOpen:
      return 'half-opened'
    default:
      return assertNever(state)
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected state ${JSON.stringify(value)}`)
}
