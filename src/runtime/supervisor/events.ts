/** What the supervisor reports; handle with an exhaustive switch on `type`. */
export type SupervisorEvent =
  | { type: 'starting'; unit: string; instance: string; pid: number | undefined }
  | { type: 'ready'; unit: string; instance: string; pid: number | undefined; ms: number }
  | {
      type: 'crashed'
      unit: string
      instance: string
      exitCode: number | null
      signal: string | null
      reason: string
    }
  | { type: 'restarting'; unit: string; instance: string; delayMs: number; recentCrashes: number }
  | { type: 'crash-loop'; unit: string; crashes: number; windowMs: number }
  | { type: 'stopped'; unit: string; instance: string }
  | { type: 'progress'; unit: string; message: string }
  | { type: 'rolled-back'; unit: string; reason: string }
  /** A deploy refused before it started: its contract breaks callers or subscribers (the diff is the reason). */
  | { type: 'refused'; unit: string; reason: string }
  /**
   * An instance joined without a deploy (by hand, another host's agent, a foreign node, or
   * this runtime's own of newer code) with a contract that breaks the running version's
   * (contract-watch.ts): which node, and the diff, in `reason`.
   */
  | { type: 'contract-mismatch'; unit: string; node: string; reason: string }
  | {
      type: 'autoscaled'
      unit: string
      from: number
      to: number
      /** Why: the value over the window passed the target (or its hysteresis line), or the bounds. */
      reason: 'above-target' | 'below-target' | 'below-min' | 'above-max'
      metric: 'inFlight' | 'p99Ms'
      /** The value measured over `windowMs` (undefined for a step back into bounds). */
      measured: number | undefined
      target: number
      /** The line it was compared with: the target out, `inBelow` × target in. */
      threshold: number
      windowMs: number
    }

/** Receives a line of progress of a long operation (restart, deploy, scale…). */
export type Progress = (message: string) => void

/** One line per event, for the CLI and the logs. */
export function describeEvent(e: SupervisorEvent): string {
  switch (e.type) {
    case 'starting':
      return `${e.instance} starting (pid ${e.pid ?? '?'})`
    case 'ready':
      return `${e.instance} ready in ${e.ms} ms (pid ${e.pid ?? '?'})`
    case 'crashed':
      return `${e.instance} crashed: ${e.reason}`
    case 'restarting':
      return `${e.instance} restarting in ${e.delayMs} ms (${e.recentCrashes} recent crashes)`
    case 'crash-loop':
      return `${e.unit} is crash-looping (${e.crashes} crashes within ${e.windowMs} ms): restarts stopped`
    case 'stopped':
      return `${e.instance} stopped`
    case 'progress':
      return `${e.unit}: ${e.message}`
    case 'rolled-back':
      return `${e.unit}: rolled back (${e.reason})`
    case 'refused':
    case 'contract-mismatch':
      return `${e.unit}: ${e.reason}`
    case 'autoscaled':
      return `${e.unit}: autoscale ${e.from} -> ${e.to} instances (${autoscaleWhy(e)})`
  }
}

function autoscaleWhy(e: SupervisorEvent & { type: 'autoscaled' }): string {
  const name = e.metric === 'inFlight' ? 'in flight per instance' : 'p99 ms'
  const figure = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2))
  switch (e.reason) {
    case 'above-target':
    case 'below-target': {
      const cmp = e.reason === 'above-target' ? '>' : '<'
      const line =
        e.reason === 'above-target'
          ? `target ${figure(e.target)}`
          : `${figure(e.threshold)} (hysteresis of target ${figure(e.target)})`
      return `${name} ${figure(e.measured ?? 0)} over ${e.windowMs} ms ${cmp} ${line}`
    }
    case 'below-min':
      return `below min ${e.to}`
    case 'above-max':
      return `above max ${e.to}`
  }
}
