import { readFile } from 'node:fs/promises'
import { type ContractDiff, formatContractDiff } from '../../contract/index.ts'
import { TesseraError } from '../../errors/index.ts'
import type { UnitBuild } from '../build/index.ts'
import type { UnitSpec } from '../config/index.ts'
import type { LaunchedInstance } from '../launcher/index.ts'
import { type Autoscaler, type AutoscaleStatus, startAutoscaler } from './autoscaler.ts'
import { BuildRefs } from './build-refs.ts'
import { Changes } from './changes.ts'
import { breakingDeploy, contractChanges } from './contract-check.ts'
import { CrashRestarts } from './crash-restarts.ts'
import type { Progress } from './events.ts'
import { type InstanceStatus, instanceStatus } from './instance-status.ts'
import { launchRequest } from './launch-request.ts'
import { type RolloutHost, rollSlots, type Slot, surge } from './rollout.ts'
import { bindSharedSocket, type SharedSocket } from './shared-socket.ts'
import type { UnitContext } from './unit-context.ts'

export type { Timing } from '../launcher/index.ts'
export type { InstanceStatus } from './instance-status.ts'
export type { UnitContext } from './unit-context.ts'

/** `build-failed`: the unit's code did not build when it started; `deploy` or `restart` retries. */
export type UnitState = 'running' | 'crash-loop' | 'build-failed' | 'stopping' | 'stopped'

/**
 * The instances of one unit (a service, or a group sharing a process): launches them
 * through the context's launcher, restarts crashed ones (`CrashRestarts`: backoff until a
 * crash loop), and rolls them (restart, deploy, scale; `rollout.ts`) one operation at a
 * time. An instance counts as serving once it said ready and callers see it; only then
 * is an old one drained.
 */
export class UnitRunner {
  state: UnitState = 'running'
  restarts = 0
  readonly #ctx: UnitContext
  readonly #slots = new Map<number, Slot>()
  /** Every live instance, also ones an operation started and not yet installed. */
  readonly #all = new Set<LaunchedInstance>()
  readonly #serving = new WeakMap<LaunchedInstance, Promise<void>>()
  readonly #visible = new WeakSet<LaunchedInstance>()
  readonly #restarts: CrashRestarts
  readonly #builds: BuildRefs
  readonly #changes = new Changes()
  #gen = 0
  #queue: Promise<unknown> = Promise.resolve()
  /** The operation running now (`#exclusive`), which the autoscaler waits out. */
  #operation: string | undefined
  /** Config `autoscale`: runs from `start` to `stop`. */
  #autoscaler: Autoscaler | undefined
  /** The unit's shared listening socket (config `listen`), bound at start, closed at stop. */
  #socket: SharedSocket | undefined
  /** Entries its instances run as adapters (learnt from their `ready`). */
  readonly adapters = new Set<string>()

  constructor(
    readonly spec: UnitSpec,
    ctx: UnitContext,
  ) {
    this.#ctx = ctx
    this.#restarts = new CrashRestarts(ctx.restartPolicy, ctx.clock)
    this.#builds = new BuildRefs(ctx.removeBuild)
  }

  /**
   * Builds the unit (or takes `prebuilt`, a build already under way) and launches the
   * configured instances; resolves when all serve. Rejects if the build fails (state
   * `build-failed`, slots empty) or the unit crash-loops first.
   */
  start(progress: Progress = () => {}, prebuilt?: Promise<UnitBuild>): Promise<void> {
    if (this.spec.autoscale && !this.#autoscaler)
      this.#autoscaler = this.#startAutoscaler(this.spec.autoscale)
    return this.#exclusive('start', async () => {
      if (this.spec.listen && !this.#socket) {
        try {
          this.#socket = bindSharedSocket(this.spec.listen.host, this.spec.listen.port)
        } catch (err) {
          this.state = 'stopped'
          throw err
        }
        progress(`listening on ${this.#socket.host}:${this.#socket.port} (shared by its instances)`)
      }
      if (this.#ctx.build) {
        try {
          const build = await (prebuilt ?? this.#ctx.build(this.spec))
          progress(`built in ${Math.round(build.ms)} ms`)
          this.#builds.setCurrent(build)
        } catch (err) {
          this.state = 'build-failed'
          for (let i = 1; i <= this.spec.instances; i++) this.#slots.set(i, { index: i, instance: undefined })
          throw err
        }
      }
      for (let i = 1; i <= this.spec.instances; i++) this.#addSlot(i)
      progress(`starting ${this.spec.instances} instance(s)`)
      await this.#allServing()
    })
  }

  /** Adds or drains instances (highest slots first) to reach `count`. */
  scale(count: number, progress: Progress = () => {}): Promise<void> {
    return this.#exclusive('scale', async () => {
      const current = [...this.#slots.keys()].sort((a, b) => a - b)
      if (count > current.length) {
        let next = (current.at(-1) ?? 0) + 1
        for (let n = current.length; n < count; n++) this.#addSlot(next++)
        progress(`starting ${count - current.length} instance(s)`)
        this.spec.instances = count
        await this.#allServing()
      } else if (count < current.length) {
        const doomed = current.slice(count).map((i) => this.#slots.get(i)!)
        for (const slot of doomed) {
          this.#slots.delete(slot.index)
          this.#restarts.cancel(slot)
        }
        this.spec.instances = count
        progress(`draining ${doomed.length} instance(s)`)
        await Promise.all(doomed.map((s) => this.#retire(s.instance)))
      }
      progress(`${count} instance(s)`)
    })
  }

  /**
   * Rolling restart: per slot, a replacement starts and must serve before the old one
   * drains. Clears a crash loop. Rejects (leaving the old instance serving) if a
   * replacement fails to get ready. The code on disk is rebuilt first; when it is not the
   * running code, the restart rolls new code and is checked as a deploy is (CONFLICT with
   * the diff when it breaks callers or subscribers, unless `force`).
   */
  restart(progress: Progress = () => {}, options: { force?: boolean } = {}): Promise<void> {
    return this.#exclusive('restart', async () => {
      // A build error leaves everything as it was.
      const build = await this.#rebuild(progress)
      if (build && !(await sameCode(build, this.#builds.current)))
        await this.#checkContracts(build, progress, options.force === true)
      this.#clearCrashLoop()
      await rollSlots(this.#host, this.#sortedSlots(), build, progress)
      if (build) this.#builds.setCurrent(build)
      progress('restarted')
    })
  }

  /**
   * Rolling update to the code on disk: new instances start beside the old ones; once
   * every one serves, the old ones drain. If any new instance fails to get ready, all
   * new ones stop and the old keep serving (rolled back); rejects with that reason.
   * Before any new instance starts, the new build's contracts are compared with the
   * running build's (when the context can describe builds): a change that can break
   * callers or subscribers refuses the deploy with CONFLICT and the diff, unless `force`.
   */
  deploy(progress: Progress = () => {}, options: { force?: boolean } = {}): Promise<void> {
    return this.#exclusive('deploy', async () => {
      let build: UnitBuild | undefined
      try {
        build = await this.#rebuild(progress)
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err)
        progress('new version does not build: rolling back')
        this.#ctx.emit({ type: 'rolled-back', unit: this.spec.name, reason })
        throw new TesseraError(
          'VALIDATION',
          `deploy of ${this.spec.name} rolled back: ${reason}`,
          err instanceof TesseraError ? err.data : undefined,
        )
      }
      if (build) await this.#checkContracts(build, progress, options.force === true)
      const outcome = await surge(this.#host, this.#sortedSlots(), build, progress, () => {
        this.#clearCrashLoop()
        if (build) this.#builds.setCurrent(build)
      })
      if (outcome) {
        this.#ctx.emit({ type: 'rolled-back', unit: this.spec.name, reason: outcome.rolledBack })
        throw new TesseraError(
          'UNAVAILABLE',
          `deploy of ${this.spec.name} rolled back: ${outcome.rolledBack}`,
        )
      }
      progress('deployed')
    })
  }

  /**
   * What a deploy would change in the contract, without deploying: builds the code on
   * disk, describes it beside the running build, removes the new build again. Empty when
   * nothing changed; rejects when the unit has no builds (`build: false`) or the code
   * does not build or load.
   */
  async diff(progress: Progress = () => {}): Promise<ContractDiff[]> {
    const describe = this.#ctx.describe
    const running = this.#builds.current
    if (!describe || !running)
      throw new TesseraError(
        'CONFLICT',
        `${this.spec.name} runs without builds: there is no contract to compare`,
      )
    const build = await this.#rebuild(progress)
    if (!build) return []
    try {
      const [before, after] = await Promise.all([describe(this.spec, running), describe(this.spec, build)])
      const use = await this.#ctx.contractUse?.(this.spec.services.map((s) => s.name)).catch(() => undefined)
      return contractChanges(before, after, use ?? {})
    } finally {
      this.#builds.discard(build)
    }
  }

  /**
   * The contract check of a deploy: describes the running and the new build side by side,
   * prints what changes, and throws CONFLICT (after removing the refused build) when a
   * change breaks users and `force` is not set. Without a running build or a way to
   * describe builds there is nothing to compare.
   */
  async #checkContracts(build: UnitBuild, progress: Progress, force: boolean): Promise<void> {
    const describe = this.#ctx.describe
    const running = this.#builds.current
    if (!describe || !running || running === build) return
    progress('comparing the new contract with the running one')
    const [before, after] = await Promise.allSettled([
      describe(this.spec, running),
      describe(this.spec, build),
    ])
    if (after.status === 'rejected') {
      // The new build does not even load: as a deploy whose instances never get ready.
      this.#builds.discard(build)
      const reason = after.reason instanceof Error ? after.reason.message : String(after.reason)
      progress('new version does not load: rolling back')
      this.#ctx.emit({ type: 'rolled-back', unit: this.spec.name, reason })
      throw new TesseraError('VALIDATION', `deploy of ${this.spec.name} rolled back: ${reason}`)
    }
    if (before.status === 'rejected') {
      progress(`the running contract could not be read (${String(before.reason)}): deploying unchecked`)
      return
    }
    const services = this.spec.services.map((s) => s.name)
    const use = (await this.#ctx.contractUse?.(services).catch(() => undefined)) ?? {}
    const diffs = contractChanges(before.value, after.value, use)
    for (const d of diffs) progress(formatContractDiff(d))
    if (!diffs.some((d) => d.breaking.length > 0)) return
    if (force) {
      progress('breaking contract change deployed anyway (force)')
      return
    }
    this.#builds.discard(build)
    const refusal = breakingDeploy(this.spec.name, diffs)
    this.#ctx.emit({ type: 'refused', unit: this.spec.name, reason: refusal.message })
    throw refusal
  }

  /**
   * Stops one instance the way a fault would (an operator's drill): SIGTERM (it drains,
   * then exits) or, with `kill`, SIGKILL. The slot is kept, so the exit is handled as a
   * crash: counted in `restarts` and toward a crash loop, and the slot restarts. Resolves
   * once a replacement serves (or the slot was scaled away meanwhile); rejects NOT_FOUND
   * for an unknown label, CONFLICT when the slot has no running instance, UNAVAILABLE when
   * the unit stops or crash-loops first. Not queued behind other operations: a fault
   * does not wait either.
   */
  async stopInstance(label: string, kill: boolean, progress: Progress = () => {}): Promise<void> {
    const slot = this.#sortedSlots().find((s) => this.#label(s.index) === label)
    if (!slot) throw new TesseraError('NOT_FOUND', `${this.spec.name} has no instance ${label}`)
    const inst = slot.instance
    if (!inst || inst.state.type === 'exited')
      throw new TesseraError('CONFLICT', `${label} is not running (${this.state})`)
    const signal = kill ? 'SIGKILL' : 'SIGTERM'
    progress(`${label}: sending ${signal} (pid ${inst.pid ?? '?'})`)
    inst.kill(`stopped by an operator (${signal})`, signal)
    const exited = await inst.exited
    progress(`${label}: exited (${exited.signal ?? `code ${exited.code}`})`)
    await this.#changes.until(() => {
      this.#assertRunning()
      if (this.#slots.get(slot.index) !== slot) return true
      return slot.instance !== inst && slot.instance !== undefined && this.#visible.has(slot.instance)
    })
    const next = this.#slots.get(slot.index)?.instance
    progress(next ? `${label}: replacement ready (pid ${next.pid ?? '?'})` : `${label}: slot removed`)
  }

  /** Drains every instance (also ones an operation is starting) and stops restarting. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return
    this.state = 'stopping'
    this.#autoscaler?.stop()
    this.#restarts.cancelAll()
    this.#changes.notify()
    await Promise.all([...this.#all].map((i) => this.#retire(i)))
    this.#socket?.close()
    this.state = 'stopped'
    this.#changes.notify()
  }

  status(): InstanceStatus[] {
    const now = this.#ctx.clock.now()
    return this.#sortedSlots().map((slot) =>
      instanceStatus(this.#label(slot.index), slot.instance, {
        crashLoop: this.state === 'crash-loop',
        restarting: this.#restarts.pending(slot),
        serving:
          slot.instance !== undefined &&
          slot.instance.state.type === 'ready' &&
          this.#visible.has(slot.instance),
        now,
      }),
    )
  }

  /** Config `autoscale`: its bounds, the value it measures and its last step; undefined without. */
  get autoscale(): AutoscaleStatus | undefined {
    return this.#autoscaler?.status()
  }

  /** Where the unit's shared socket listens (config `listen`), once started. */
  get address(): { host: string; port: number } | undefined {
    return this.#socket && { host: this.#socket.host, port: this.#socket.port }
  }

  /** The build new instances run; undefined without builds (or before the first). */
  get build(): UnitBuild | undefined {
    return this.#builds.current
  }

  /** Live instances, for tests and benches (e.g. to SIGKILL one). */
  instances(): LaunchedInstance[] {
    return this.#sortedSlots().flatMap((s) => (s.instance ? [s.instance] : []))
  }

  /** The runner as rollouts see it. */
  readonly #host: RolloutHost = {
    spawn: (index, build) => this.#spawn(index, build),
    serving: (inst) => this.#serving.get(inst) ?? Promise.reject(new Error(`${inst.label} is unknown`)),
    install: (slot, inst) => this.#install(slot, inst),
    retire: (inst) => this.#retire(inst),
    cancelRestart: (slot) => this.#restarts.cancel(slot),
    refill: (slot) => {
      if (this.state === 'stopping' || this.state === 'stopped') return
      if (this.#ctx.build && !this.#builds.current) return
      this.#install(slot, this.#spawn(slot.index))
    },
  }

  #label(index: number): string {
    return `${this.spec.name}#${index}`
  }

  #assertRunning(): void {
    if (this.state === 'crash-loop')
      throw new TesseraError('UNAVAILABLE', `${this.spec.name} is crash-looping`)
    if (this.state !== 'running') throw new TesseraError('UNAVAILABLE', `${this.spec.name} was stopped`)
  }

  /** Resolves when every slot has a serving instance; rejects on a crash loop or stop. */
  #allServing(): Promise<void> {
    return this.#changes.until(() => {
      this.#assertRunning()
      return [...this.#slots.values()].every((s) => s.instance && this.#visible.has(s.instance))
    })
  }

  #addSlot(index: number): void {
    const slot: Slot = { index, instance: undefined }
    this.#slots.set(index, slot)
    this.#install(slot, this.#spawn(index))
  }

  /** Launches an instance for slot `index` (not yet the slot's) and tracks it until it exits. */
  #spawn(index: number, build: UnitBuild | undefined = this.#builds.current): LaunchedInstance {
    if (this.state === 'stopping' || this.state === 'stopped')
      throw new TesseraError('UNAVAILABLE', `${this.spec.name} is stopping`)
    if (this.#ctx.build && !build)
      throw new TesseraError('UNAVAILABLE', `${this.spec.name} has no build (it failed): deploy it`)
    const { ctx, spec } = { ctx: this.#ctx, spec: this.spec }
    const gen = ++this.#gen
    const nodeId = `${ctx.system}-${spec.name}-${index}-${gen}-${Math.random().toString(36).slice(2, 6)}`
    const label = this.#label(index)
    const launcher = (spec.isolation && ctx.launchers?.[spec.isolation]) || ctx.launcher
    const inst = launcher.launch(launchRequest(ctx, spec, { label, nodeId, build, socket: this.#socket }))
    this.#all.add(inst)
    if (build) this.#builds.use(build, inst.exited)
    ctx.emit({ type: 'starting', unit: spec.name, instance: inst.label, pid: inst.pid })
    const serving = inst.ready
      .then(() => {
        for (const a of inst.adapters) this.adapters.add(a)
        // Adapters are not on the transport: only the services it hosts can become visible.
        const hosted = inst.versions.map((s) => s.name)
        return hosted.length > 0 ? ctx.awaitVisible(nodeId, hosted) : undefined
      })
      .then(() => {
        if (inst.state.type !== 'ready') throw new TesseraError('UNAVAILABLE', `${inst.label} exited`)
        this.#visible.add(inst)
        ctx.emit({
          type: 'ready',
          unit: spec.name,
          instance: inst.label,
          pid: inst.pid,
          ms: Math.max(0, ctx.clock.now() - inst.startedAt),
        })
        this.#changes.notify()
      })
    serving.catch(() => {})
    this.#serving.set(inst, serving)
    void inst.exited.then(() => {
      this.#all.delete(inst)
      this.#changes.notify()
    })
    return inst
  }

  /** Makes `inst` the slot's instance: from now on its unplanned exit is a crash of this unit. */
  #install(slot: Slot, inst: LaunchedInstance): void {
    this.#restarts.cancel(slot)
    slot.instance = inst
    void inst.exited.then((s) => {
      if (slot.instance !== inst || s.planned || this.#slots.get(slot.index) !== slot) return
      this.#crashed(slot, inst, s)
    })
  }

  #crashed(slot: Slot, inst: LaunchedInstance, s: LaunchedInstance['state'] & { type: 'exited' }): void {
    this.restarts++
    const unit = this.spec.name
    this.#ctx.emit({
      type: 'crashed',
      unit,
      instance: inst.label,
      exitCode: s.code,
      signal: s.signal,
      reason: s.reason,
    })
    if (this.state !== 'running') return
    const verdict = this.#restarts.crashed(slot, () => {
      // Skipped when an operation already put a new instance in the slot, or the unit stopped.
      if (this.state === 'running' && this.#slots.get(slot.index) === slot && slot.instance === inst)
        this.#install(slot, this.#spawn(slot.index))
    })
    switch (verdict.type) {
      case 'crash-loop':
        this.state = 'crash-loop'
        this.#ctx.emit({
          type: 'crash-loop',
          unit,
          crashes: verdict.recentCrashes,
          windowMs: this.#ctx.restartPolicy.crashLoopWindowMs,
        })
        break
      case 'restart':
        this.#ctx.emit({
          type: 'restarting',
          unit,
          instance: inst.label,
          delayMs: verdict.delayMs,
          recentCrashes: verdict.recentCrashes,
        })
        break
    }
    this.#changes.notify()
  }

  #clearCrashLoop(): void {
    this.#restarts.forget()
    if (this.state === 'crash-loop' || this.state === 'build-failed') this.state = 'running'
  }

  /** A fresh build of the code on disk (undefined without builds); reports its time. */
  async #rebuild(progress: Progress): Promise<UnitBuild | undefined> {
    if (!this.#ctx.build) return undefined
    progress('building')
    const build = await this.#ctx.build(this.spec)
    progress(`built in ${Math.round(build.ms)} ms`)
    return build
  }

  async #retire(inst: LaunchedInstance | undefined): Promise<void> {
    if (!inst || inst.state.type === 'exited') return
    await inst.stop()
    this.#ctx.emit({ type: 'stopped', unit: this.spec.name, instance: inst.label })
  }

  #sortedSlots(): Slot[] {
    return [...this.#slots.values()].sort((a, b) => a.index - b.index)
  }

  #exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    const named = async () => {
      this.#operation = name
      try {
        return await work()
      } finally {
        this.#operation = undefined
      }
    }
    const run = this.#queue.then(named, named)
    this.#queue = run.catch(() => {})
    return run
  }

  /**
   * Scales within the config's bounds by the load its serving instances report; never
   * while another operation (a rollout) runs or the unit is not running (autoscaler.ts).
   */
  #startAutoscaler(spec: NonNullable<UnitSpec['autoscale']>): Autoscaler {
    const unit = this.spec.name
    return startAutoscaler({
      spec,
      clock: this.#ctx.clock,
      intervalMs: this.#ctx.timing.pingIntervalMs,
      emit: (e) => this.#ctx.emit(e),
      onError: (message) => this.#ctx.onLine(unit, 'supervisor', message, 'stderr'),
      host: {
        name: unit,
        count: () => this.#slots.size,
        serving: () => this.instances().filter((i) => i.state.type === 'ready' && this.#visible.has(i)),
        blocked: () => {
          if (this.state !== 'running') return `${unit} is ${this.state}`
          return this.#operation && `a ${this.#operation} of ${unit} runs`
        },
        scale: (count) => this.scale(count, (message) => this.#ctx.emit({ type: 'progress', unit, message })),
      },
    })
  }
}

/** Whether two builds bundle the same code (esbuild's output is deterministic for the same sources). */
async function sameCode(a: UnitBuild, b: UnitBuild | undefined): Promise<boolean> {
  if (!b) return false
  if (a.file === b.file) return true
  const [x, y] = await Promise.all([readFile(a.file), readFile(b.file)]).catch(() => [undefined, undefined])
  return x !== undefined && y !== undefined && x.equals(y)
}
