import { type ChildProcess, spawn } from 'node:child_process'
import { extname } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ServiceContract } from '../../contract/index.ts'
import { TesseraError } from '../../errors/index.ts'
import type { NodeCredential } from '../../identity/index.ts'
import type { MetricsSnapshot } from '../../metrics/index.ts'
import type { SpanRecord } from '../../tracing/index.ts'
import type { NatsCredentials } from '../../transport/nats/index.ts'
import { type FromInstance, INSTANCE_ENV, type InstanceEnv, type ToInstance } from './protocol.ts'

/** Where one instance process is in its life. */
export type InstanceState =
  | { type: 'starting' }
  | { type: 'ready' }
  | { type: 'draining' }
  | { type: 'exited'; code: number | null; signal: NodeJS.Signals | null; planned: boolean; reason: string }

export interface InstanceOptions {
  /** e.g. `users#2`: the log prefix and the name in status. */
  label: string
  env: InstanceEnv
  /** The script to run: a unit's build, or the tsx bootstrap (`bootstrapProgram`). */
  program: string
  nodeArgs: string[]
  cwd: string
  extraEnv: Record<string, string>
  pingIntervalMs: number
  pingTimeoutMs: number
  readyTimeoutMs: number
  /** After SIGTERM, how long before SIGKILL. */
  stopTimeoutMs: number
  /** Each line the instance writes, with the stream it came from. */
  onLine: (label: string, line: string, stream: 'stdout' | 'stderr') => void
  /** Finished spans the instance recorded (config `tracing`). */
  onSpans?: (spans: SpanRecord[]) => void
  /** In describe mode (`env.describe`): the contracts it reported before exiting. */
  onContract?: (services: ServiceContract[]) => void
  /** A listening socket's fd in this process, inherited by the instance as fd 4 (`env.listen.fd`). */
  listenFd?: number
  /** Handed to the instance over IPC when it asks (`env.identity` is then set), with its unit's NATS login. */
  credential?: NodeCredential
  natsLogin?: NatsCredentials
  /**
   * Runs this instead of `node <nodeArgs> <program>` (a container launcher: `podman run …`),
   * with exactly this environment; stdio is the same (IPC as fd 3, the listening socket as 4).
   */
  command?: { file: string; args: string[]; env: NodeJS.ProcessEnv }
  /** Delivers signals another way than to the child (a container: `podman kill` by name). */
  signal?: (signal: NodeJS.Signals) => void
  /** Maps the child's exit to the instance's (a container client's 128 + n to signal n). */
  exitStatus?: (code: number | null, signal: NodeJS.Signals | null) => [number | null, NodeJS.Signals | null]
}

/** The fd a shared listening socket has in an instance: the stdio entry after the IPC channel. */
export const LISTEN_FD = 4

/** The instance program of the tsx fallback: run with `--import tsx`. */
export const bootstrapProgram = fileURLToPath(
  new URL(`./bootstrap${extname(import.meta.url)}`, import.meta.url),
)

/** How long an exited instance's output may take to be read before its exit is reported anyway. */
const OUTPUT_DRAIN_MS = 500

/**
 * One instance: a Node process running its unit's program. `ready` resolves once it hosts
 * its services, and rejects (after killing it) when it exits, reports a failed start or
 * is not ready within `readyTimeoutMs`. After ready it is pinged over IPC; no pong for
 * `pingTimeoutMs` (a blocked event loop) kills it with SIGKILL. `exited` always resolves
 * with the final state; `planned` is true only for exits caused by `stop`.
 */
export class InstanceProcess {
  readonly label: string
  readonly nodeId: string
  readonly startedAt = Date.now()
  state: InstanceState = { type: 'starting' }
  versions: { name: string; version: string }[] = []
  /** Adapters it runs (known once ready). */
  adapters: string[] = []
  handled = 0
  inFlight = 0
  /** Calls handled per second, over the last second or so of pongs. */
  reqPerSec = 0
  /** CPU % of one core the instance reports (`process.cpuUsage()`): since it started at the first pong, then per second or so. */
  cpuPercent: number | undefined
  /** RSS the instance reports with each pong. */
  rssBytes: number | undefined
  #rateSample = { handled: 0, at: Date.now(), cpuMicros: 0 }
  readonly #metricsWaiters = new Map<number, (m: MetricsSnapshot | undefined) => void>()
  #metricsN = 0
  readonly ready: Promise<void>
  readonly exited: Promise<InstanceState & { type: 'exited' }>
  readonly #child: ChildProcess
  readonly #opts: InstanceOptions
  #killReason: string | undefined
  #planned = false
  #readyTimer: NodeJS.Timeout | undefined
  #pingTimer: NodeJS.Timeout | undefined
  #lastPong = Date.now()
  #pingN = 0

  constructor(opts: InstanceOptions) {
    this.#opts = opts
    this.label = opts.label
    this.nodeId = opts.env.nodeId
    const { file, args, env } = opts.command ?? {
      file: process.execPath,
      args: [...opts.nodeArgs, opts.program],
      env: { ...process.env, ...opts.extraEnv, [INSTANCE_ENV]: JSON.stringify(opts.env) },
    }
    this.#child = spawn(file, args, {
      cwd: opts.cwd,
      env,
      stdio:
        opts.listenFd === undefined
          ? ['ignore', 'pipe', 'pipe', 'ipc']
          : ['ignore', 'pipe', 'pipe', 'ipc', opts.listenFd],
    })
    const streamsClosed: Promise<void>[] = []
    for (const [name, stream] of [
      ['stdout', this.#child.stdout],
      ['stderr', this.#child.stderr],
    ] as const) {
      if (!stream) continue
      createInterface({ input: stream }).on('line', (line) => opts.onLine(this.label, line, name))
      streamsClosed.push(new Promise((resolve) => stream.once('close', resolve)))
    }
    const outputRead = Promise.all(streamsClosed)
    this.exited = new Promise((resolve) => {
      const done = (rawCode: number | null, rawSignal: NodeJS.Signals | null) => {
        const [code, signal] = opts.exitStatus?.(rawCode, rawSignal) ?? [rawCode, rawSignal]
        clearTimeout(this.#readyTimer)
        clearTimeout(this.#pingTimer)
        const reason = this.#killReason ?? (signal ? `killed by ${signal}` : `exited with code ${code}`)
        const final = { type: 'exited', code, signal, planned: this.#planned, reason } as const
        this.state = final
        resolve(final)
      }
      // 'exit' can come before the last lines of output are read (the pipes drain after the
      // process is gone): the exit is reported once they are, so a crash's last words reach
      // the log before the crash is told and before a stopped system closes its logs. A
      // grandchild that keeps the pipes open holds the report up by OUTPUT_DRAIN_MS at most.
      this.#child.once('exit', (code, signal) => {
        let bound: NodeJS.Timeout | undefined
        const drained = new Promise<void>((resolve) => {
          bound = setTimeout(resolve, OUTPUT_DRAIN_MS)
        })
        void Promise.race([outputRead, drained]).then(() => {
          clearTimeout(bound)
          done(code, signal)
        })
      })
      this.#child.once('error', (err) => {
        this.#killReason = `spawn failed: ${err.message}`
        if (this.#child.pid === undefined) done(null, null)
      })
    })
    this.ready = new Promise<void>((resolve, reject) => {
      this.#readyTimer = setTimeout(() => {
        this.kill(`not ready within ${opts.readyTimeoutMs} ms`)
      }, opts.readyTimeoutMs)
      this.#child.on('message', (msg: FromInstance) => this.#onMessage(msg, resolve))
      void this.exited.then((s) => {
        reject(new TesseraError('UNAVAILABLE', `${this.label} ${s.reason} before it was ready`))
      })
    })
    // A rejection nobody awaits (the instance crashed later) must not crash the supervisor.
    this.ready.catch(() => {})
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /**
   * Asks the instance for its metrics over IPC. Resolves undefined when it does not
   * answer within `timeoutMs` (a blocked or stopped process), has no channel, or exits
   * first; never rejects.
   */
  metrics(timeoutMs: number): Promise<MetricsSnapshot | undefined> {
    if (!this.#child.connected || this.state.type === 'exited') return Promise.resolve(undefined)
    const n = ++this.#metricsN
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), timeoutMs)
      const done = (m: MetricsSnapshot | undefined) => {
        clearTimeout(timer)
        this.#metricsWaiters.delete(n)
        resolve(m)
      }
      this.#metricsWaiters.set(n, done)
      this.#send({ type: 'metrics?', n })
      void this.exited.then(() => done(undefined))
    })
  }

  /** Drains: SIGTERM (the instance stops taking calls, answers those in flight, exits), SIGKILL after stopTimeoutMs. */
  async stop(): Promise<void> {
    if (this.state.type === 'exited') return
    this.#planned = true
    this.state = { type: 'draining' }
    this.#signal('SIGTERM')
    const timer = setTimeout(() => this.kill('did not drain in time'), this.#opts.stopTimeoutMs)
    await this.exited
    clearTimeout(timer)
  }

  /** SIGKILL now; the exit is a crash unless `stop` ran first. */
  kill(reason: string, signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#killReason ??= reason
    this.#signal(signal)
  }

  #signal(signal: NodeJS.Signals): void {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return
    if (this.#opts.signal) {
      this.#opts.signal(signal)
      return
    }
    try {
      this.#child.kill(signal)
    } catch {
      // Already gone: the exit handler reports it.
    }
  }

  #onMessage(msg: FromInstance, resolveReady: () => void): void {
    switch (msg.type) {
      case 'ready':
        clearTimeout(this.#readyTimer)
        this.versions = msg.services
        this.adapters = msg.adapters ?? []
        if (this.state.type === 'starting') this.state = { type: 'ready' }
        this.#startLiveness()
        resolveReady()
        return
      case 'pong':
        this.#lastPong = Date.now()
        this.handled = msg.handled
        this.inFlight = msg.inFlight
        if (msg.rssBytes !== undefined) this.rssBytes = msg.rssBytes
        // The first pong gives the average since the process started, so CPU is known at once.
        if (this.cpuPercent === undefined && msg.cpuMicros !== undefined && msg.uptimeMs)
          this.cpuPercent = Math.round(msg.cpuMicros / 10 / msg.uptimeMs)
        if (this.#lastPong - this.#rateSample.at >= 1000) {
          const ms = this.#lastPong - this.#rateSample.at
          this.reqPerSec = Math.round(((msg.handled - this.#rateSample.handled) * 1000) / ms)
          const cpuMicros = msg.cpuMicros ?? 0
          if (msg.cpuMicros !== undefined && this.#rateSample.cpuMicros > 0)
            this.cpuPercent = Math.round((cpuMicros - this.#rateSample.cpuMicros) / 10 / ms)
          this.#rateSample = { handled: msg.handled, at: this.#lastPong, cpuMicros }
        }
        return
      case 'metrics':
        this.#metricsWaiters.get(msg.n)?.(msg.metrics)
        return
      case 'failed':
        this.#killReason = `failed to start: ${msg.message}`
        return
      case 'spans':
        if (Array.isArray(msg.spans)) this.#opts.onSpans?.(msg.spans)
        return
      case 'contract':
        if (Array.isArray(msg.services)) this.#opts.onContract?.(msg.services)
        return
      case 'credential?':
        if (this.#opts.credential)
          this.#child.send({
            type: 'credential',
            credential: this.#opts.credential,
            ...(this.#opts.natsLogin ? { natsLogin: this.#opts.natsLogin } : {}),
          } satisfies ToInstance)
        return
    }
  }

  #startLiveness(): void {
    this.#lastPong = Date.now()
    const tick = () => {
      if (this.state.type === 'exited') return
      if (this.state.type === 'ready' && Date.now() - this.#lastPong > this.#opts.pingTimeoutMs) {
        this.kill(`unresponsive for ${this.#opts.pingTimeoutMs} ms (event loop blocked?)`)
        return
      }
      this.#send({ type: 'ping', n: ++this.#pingN })
      this.#pingTimer = setTimeout(tick, this.#opts.pingIntervalMs)
    }
    tick()
  }

  #send(msg: ToInstance): void {
    if (!this.#child.connected) return
    try {
      this.#child.send(msg)
    } catch {
      // Channel closing: the exit handler reports what happened.
    }
  }
}
