import type { Clock } from '../../../context/index.ts'
import { TesseraError } from '../../../errors/index.ts'
import type {
  InstanceLauncher,
  InstanceState,
  LaunchedInstance,
  LaunchRequest,
} from '../instance-launcher.ts'

type Exited = InstanceState & { type: 'exited' }

/**
 * An instance that is only bookkeeping, driven by the test: it says ready, crashes,
 * fails its start or hangs when told to. `stop` drains at once (exit code 0, planned)
 * unless `holdDrain` was called; `kill` exits with the signal, unplanned unless `stop`
 * ran first: the contract of `LaunchedInstance`, without a process.
 */
export class FakeInstance implements LaunchedInstance {
  readonly label: string
  readonly nodeId: string
  readonly pid: number
  readonly startedAt: number
  state: InstanceState = { type: 'starting' }
  versions: { name: string; version: string }[] = []
  adapters: string[] = []
  handled = 0
  reqPerSec = 0
  /** What its pongs would say; a test sets it to script the load. */
  inFlight = 0
  cpuPercent: number | undefined
  rssBytes: number | undefined
  readonly ready: Promise<void>
  readonly exited: Promise<Exited>
  /** Signals sent with `kill`, in order. */
  readonly signals: NodeJS.Signals[] = []
  /** How often `stop` was called. */
  stops = 0
  #resolveReady!: () => void
  #rejectReady!: (err: Error) => void
  #resolveExited!: (s: Exited) => void
  #planned = false
  #holdDrain = false

  constructor(
    readonly request: LaunchRequest,
    pid: number,
    clock: Clock,
  ) {
    this.label = request.label
    this.nodeId = request.nodeId
    this.pid = pid
    this.startedAt = clock.now()
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve
      this.#rejectReady = reject
    })
    this.ready.catch(() => {})
    this.exited = new Promise((resolve) => {
      this.#resolveExited = resolve
    })
  }

  /** The build it was launched with (its `file`), or undefined for the tsx fallback. */
  get buildFile(): string | undefined {
    return this.request.build?.file
  }

  /** Says `ready`, hosting its unit's services at `version` (default: its build's file name, else 1.0.0). */
  becomeReady(version = this.request.build?.file ?? '1.0.0'): void {
    if (this.state.type !== 'starting') return
    this.versions = this.request.unit.services.map((s) => ({ name: s.name, version }))
    this.state = { type: 'ready' }
    this.#resolveReady()
  }

  /** Reports a failed start and exits 1, as an entry that throws while loading does. */
  failStart(message = 'boom'): void {
    this.#exit(1, null, `failed to start: ${message}`)
  }

  /** Exits on its own (a crash): code `code`, or killed by `signal`. */
  crash(code: number | null = 1, signal: NodeJS.Signals | null = null): void {
    this.#exit(code, signal, signal ? `killed by ${signal}` : `exited with code ${code}`)
  }

  /** From now on `stop` leaves it draining until `finishDrain`. */
  holdDrain(): void {
    this.#holdDrain = true
  }

  finishDrain(): void {
    this.#exit(0, null, 'exited with code 0')
  }

  async stop(): Promise<void> {
    this.stops++
    if (this.state.type === 'exited') return
    this.#planned = true
    this.state = { type: 'draining' }
    if (!this.#holdDrain) queueMicrotask(() => this.finishDrain())
    await this.exited
  }

  kill(reason: string, signal: NodeJS.Signals = 'SIGKILL'): void {
    this.signals.push(signal)
    if (this.state.type === 'exited') return
    queueMicrotask(() => this.#exit(null, signal, reason))
  }

  async metrics(): Promise<undefined> {
    return undefined
  }

  #exit(code: number | null, signal: NodeJS.Signals | null, reason: string): void {
    if (this.state.type === 'exited') return
    const final: Exited = { type: 'exited', code, signal, planned: this.#planned, reason }
    this.state = final
    this.#rejectReady(new TesseraError('UNAVAILABLE', `${this.label} ${reason} before it was ready`))
    this.#resolveExited(final)
  }
}

/** What a fake instance does on its own once launched. */
export type FakeBehaviour = 'ready' | 'fail' | 'hang'

/**
 * A launcher of `FakeInstance`s. Each launch asks `behave` what the new instance does on
 * its own (default `ready`, on the next microtask); the test drives the rest through
 * `launched`.
 *
 * @example
 * const launcher = fakeLauncher(clock, (req) => (req.build?.file === 'v2' ? 'fail' : 'ready'))
 */
export function fakeLauncher(
  clock: Clock,
  behave: (request: LaunchRequest) => FakeBehaviour = () => 'ready',
): InstanceLauncher & { launched: FakeInstance[]; live(): FakeInstance[] } {
  const launched: FakeInstance[] = []
  let pids = 1000
  return {
    kind: 'fake',
    launched,
    live: () => launched.filter((i) => i.state.type !== 'exited'),
    launch(request) {
      const inst = new FakeInstance(request, ++pids, clock)
      launched.push(inst)
      const behaviour = behave(request)
      if (behaviour === 'ready') queueMicrotask(() => inst.becomeReady())
      else if (behaviour === 'fail') queueMicrotask(() => inst.failStart())
      return inst
    },
  }
}
