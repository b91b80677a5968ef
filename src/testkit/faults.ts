import type { ActionDefinition, AnyService, Context } from '../contract/index.ts'
import { type ErrorCode, TesseraError } from '../errors/index.ts'

/** What to do to a call instead of (or before) running its handler. */
export type Fault =
  | { kind: 'delay'; ms: number }
  | { kind: 'error'; code: ErrorCode; message?: string }
  | { kind: 'hang' }
  | { kind: 'crash' }

interface ArmedFault {
  fault: Fault
  /** Calls still to affect; Infinity until cleared. */
  remaining: number
}

/**
 * A table of faults by `service.action`, consulted by handlers wrapped with
 * `withFaults`. Faults apply to the next `times` calls (all calls by default).
 */
export class FaultTable {
  readonly #faults = new Map<string, ArmedFault>()

  inject(target: string, fault: Fault, times = Number.POSITIVE_INFINITY): void {
    this.#faults.set(target, { fault, remaining: times })
  }

  clear(target?: string): void {
    if (target === undefined) this.#faults.clear()
    else this.#faults.delete(target)
  }

  /** Takes the fault for one call, if any. */
  take(target: string): Fault | undefined {
    const armed = this.#faults.get(target)
    if (!armed) return undefined
    if (--armed.remaining <= 0) this.#faults.delete(target)
    return armed.fault
  }
}

/** A copy of `service` whose every handler first applies the fault armed for it, if any. */
export function withFaults<S extends AnyService>(service: S, faults: FaultTable): S {
  const actions: Record<string, ActionDefinition> = {}
  for (const [name, action] of Object.entries(service.actions as Record<string, ActionDefinition>)) {
    const target = `${service.name}.${name}`
    actions[name] = {
      ...action,
      handler: async (input: unknown, ctx: Context) => {
        const fault = faults.take(target)
        if (fault) await apply(fault, target, ctx)
        return action.handler(input as never, ctx)
      },
    }
  }
  return { ...service, actions }
}

async function apply(fault: Fault, target: string, ctx: Context): Promise<void> {
  switch (fault.kind) {
    case 'delay':
      await abortableSleep(fault.ms, ctx.signal)
      return
    case 'error':
      throw new TesseraError(fault.code, fault.message ?? `injected ${fault.code} in ${target}`)
    case 'hang':
      // Never answers; ends only when the caller gives up (deadline or cancel), so nothing leaks.
      await abortableSleep(Number.POSITIVE_INFINITY, ctx.signal)
      throw new TesseraError('INTERNAL', `hang in ${target} ended without abort`)
    case 'crash':
      throw new Error(`injected crash in ${target}`)
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined
    function done() {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }
    function onAbort() {
      if (timer) clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
