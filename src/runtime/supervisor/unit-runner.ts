import { TesseraError } from '../../errors/index.ts'
import type { NodeCredential } from '../../identity/index.ts'
import type { SpanRecord } from '../../tracing/index.ts'
import type { NatsCredentials } from '../../transport/nats/index.ts'
import { removeBuild, type UnitBuild } from '../build/index.ts'
import type { ResolvedTransport, UnitSpec } from '../config/index.ts'
import { bootstrapProgram, InstanceProcess, LISTEN_FD } from '../instance/instance-process.ts'
import type { CgroupMemory } from '../isolation/index.ts'
import { nodeArgs } from '../isolation/index.ts'
import { CrashHistory, type RestartPolicy } from './crash-history.ts'
import type { Progress, SupervisorEvent } from './events.ts'
import { bindSharedSocket, type SharedSocket } from './shared-socket.ts'

export interface Timing {
  pingIntervalMs: number
  pingTimeoutMs: number
  readyTimeoutMs: number
  drainTimeoutMs: number
  drainGraceMs: number
}

/** What a runner needs from the supervisor; passed in so a runner can be tested alone. */
export interface UnitContext {
  system: string
  root: string
  transport: ResolvedTransport
  timing: Timing
  restartPolicy: RestartPolicy
  cgroup: CgroupMemory | undefined
  emit(e: SupervisorEvent): void
  /** A line of an instance (`stream` default stdout) or of the supervisor about it. */
  onLine(unit: string, label: string, line: string, stream?: 'stdout' | 'stderr'): void
  /** Resolves once callers can see `nodeId` offering `services` (bounded: resolves anyway after a while). */
  awaitVisible(nodeId: string, services: string[]): Promise<void>
  /**
   * Bundles the unit's code as it is on disk now; undefined = no builds, instances run
   * the entries through tsx (`build: false`). Rejects with the build errors.
   */
  build: ((spec: UnitSpec) => Promise<UnitBuild>) | undefined
  /** Where builds go (readable by instances under the permission model). */
  buildDir: string
  /** The system's tracing, handed to every instance; spans it sends go to `onSpans`. */
  tracing?: { sampleRatio: number; otlpEndpoint?: string }
  onSpans?(spans: SpanRecord[]): void
  /**
   * A fresh credential for one instance (and its unit's NATS login), handed over IPC;
   * undefined = the system runs without credentials.
   */
  credentialFor?(
    nodeId: string,
    spec: UnitSpec,
  ): { credential: NodeCredential; natsLogin?: NatsCredentials } | undefined
}

/** `build-failed`: the unit's code did not build when it started; `deploy` or `restart` retries. */
export type UnitState = 'running' | 'crash-loop' | 'build-failed' | 'stopping' | 'stopped'

interface Slot {
  index: number
  instance: InstanceProcess | undefined
  restartTimer: NodeJS.Timeout | undefined
}

export interface InstanceStatus {
  label: string
  nodeId: string | undefined
  state: 'starting' | 'ready' | 'draining' | 'exited' | 'restarting' | 'crash-loop'
  pid: number | undefined
  versions: { name: string; version: string }[]
  uptimeMs: number | undefined
  handled: number
  reqPerSec: number
}

/**
 * The instances of one unit (a service, or a group sharing a process): launches them,
 * restarts crashed ones with exponential backoff until a crash loop, and rolls them
 * (restart, deploy, scale) one operation at a time. An instance counts as serving once
 * it said ready and callers see it; only then is an old one drained.
 */
export class UnitRunner {
  state: UnitState = 'running'
  restarts = 0
  readonly #ctx: UnitContext
  readonly #slots = new Map<number, Slot>()
  readonly #all = new Set<InstanceProcess>()
  readonly #serving = new WeakMap<InstanceProcess, Promise<void>>()
  readonly #visible = new WeakSet<InstanceProcess>()
  readonly #crashes: CrashHistory
  readonly #waiters = new Set<() => void>()
  #gen = 0
  #queue: Promise<unknown> = Promise.resolve()
  /** The build new instances run (crash restarts, scaling); replaced by a successful deploy or restart. */
  #build: UnitBuild | undefined
  /** Live instances per build, so a build no longer current is removed with its last instance. */
  readonly #buildUsers = new Map<UnitBuild, number>()
  /** The unit's shared listening socket (config `listen`), bound at start, closed at stop. */
  #socket: SharedSocket | undefined
  /** Entries its instances run as adapters (learnt from their `ready`). */
  readonly adapters = new Set<string>()

  constructor(
    readonly spec: UnitSpec,
    ctx: UnitContext,
  ) {
    this.#ctx = ctx
    this.#crashes = new CrashHistory(ctx.restartPolicy)
  }

  /**
   * Builds the unit (or takes `prebuilt`, a build already under way) and launches the
   * configured instances; resolves when all serve. Rejects if the build fails (state
   * `build-failed`, slots empty) or the unit crash-loops first.
   */
  start(progress: Progress = () => {}, prebuilt?: Promise<UnitBuild>): Promise<void> {
    return this.#exclusive(async () => {
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
          this.#setBuild(build)
        } catch (err) {
          this.state = 'build-failed'
          for (let i = 1; i <= this.spec.instances; i++)
            this.#slots.set(i, { index: i, instance: undefined, restartTimer: undefined })
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
    return this.#exclusive(async () => {
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
          clearTimeout(slot.restartTimer)
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
   * replacement fails to get ready.
   */
  restart(progress: Progress = () => {}): Promise<void> {
    return this.#exclusive(async () => {
      // The code on disk: rebuilt first; a build error leaves everything as it was.
      const build = await this.#rebuild(progress)
      this.#clearCrashLoop()
      for (const slot of this.#sortedSlots()) {
        const old = slot.instance
        clearTimeout(slot.restartTimer)
        slot.restartTimer = undefined
        const fresh = this.#spawn(slot.index, build)
        progress(`${fresh.label}: starting replacement (pid ${fresh.pid ?? '?'})`)
        try {
          await this.#serving.get(fresh)
        } catch (err) {
          await this.#retire(fresh)
          if ((!old || old.state.type === 'exited') && this.#build)
            this.#install(slot, this.#spawn(slot.index))
          throw err
        }
        this.#install(slot, fresh)
        if (old) {
          progress(`${old.label}: draining old instance (pid ${old.pid ?? '?'})`)
          await this.#retire(old)
        }
      }
      if (build) this.#setBuild(build)
      progress('restarted')
    })
  }

  /**
   * Rolling update to the code on disk: new instances start beside the old ones; once
   * every one serves, the old ones drain. If any new instance fails to get ready, all
   * new ones stop and the old keep serving (rolled back); rejects with that reason.
   */
  deploy(progress: Progress = () => {}): Promise<void> {
    return this.#exclusive(async () => {
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
      const slots = this.#sortedSlots()
      const fresh = slots.map((s) => this.#spawn(s.index, build))
      progress(`starting ${fresh.length} new instance(s)`)
      const results = await Promise.allSettled(fresh.map((f) => this.#serving.get(f)))
      const failure = results.find((r) => r.status === 'rejected')
      if (failure) {
        const reason = String((failure.reason as Error)?.message ?? failure.reason)
        progress(`new version not ready (${reason}): rolling back`)
        await Promise.all(fresh.map((f) => this.#retire(f)))
        this.#ctx.emit({ type: 'rolled-back', unit: this.spec.name, reason })
        throw new TesseraError('UNAVAILABLE', `deploy of ${this.spec.name} rolled back: ${reason}`)
      }
      this.#clearCrashLoop()
      if (build) this.#setBuild(build)
      const old = slots.map((s, i) => {
        const previous = s.instance
        clearTimeout(s.restartTimer)
        s.restartTimer = undefined
        this.#install(s, fresh[i]!)
        return previous
      })
      progress(`new version serving; draining ${old.filter(Boolean).length} old instance(s)`)
      await Promise.all(old.map((o) => this.#retire(o)))
      progress('deployed')
    })
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
    const slot = this.#sortedSlots().find((s) => `${this.spec.name}#${s.index}` === label)
    if (!slot) throw new TesseraError('NOT_FOUND', `${this.spec.name} has no instance ${label}`)
    const inst = slot.instance
    if (!inst || inst.state.type === 'exited')
      throw new TesseraError('CONFLICT', `${label} is not running (${this.state})`)
    const signal = kill ? 'SIGKILL' : 'SIGTERM'
    progress(`${label}: sending ${signal} (pid ${inst.pid ?? '?'})`)
    inst.kill(`stopped by an operator (${signal})`, signal)
    const exited = await inst.exited
    progress(`${label}: exited (${exited.signal ?? `code ${exited.code}`})`)
    await this.#until(() => {
      if (this.state === 'crash-loop')
        throw new TesseraError('UNAVAILABLE', `${this.spec.name} is crash-looping`)
      if (this.state !== 'running') throw new TesseraError('UNAVAILABLE', `${this.spec.name} was stopped`)
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
    for (const slot of this.#slots.values()) clearTimeout(slot.restartTimer)
    this.#notify()
    await Promise.all([...this.#all].map((i) => this.#retire(i)))
    this.#socket?.close()
    this.state = 'stopped'
    this.#notify()
  }

  status(): InstanceStatus[] {
    return this.#sortedSlots().map((slot) => {
      const inst = slot.instance
      const label = `${this.spec.name}#${slot.index}`
      const base = { label, handled: inst?.handled ?? 0, reqPerSec: inst?.reqPerSec ?? 0 }
      if (!inst || inst.state.type === 'exited') {
        const state = this.state === 'crash-loop' ? 'crash-loop' : slot.restartTimer ? 'restarting' : 'exited'
        return { ...base, nodeId: inst?.nodeId, state, pid: undefined, versions: [], uptimeMs: undefined }
      }
      const serving = inst.state.type === 'ready' && this.#visible.has(inst)
      return {
        ...base,
        nodeId: inst.nodeId,
        state: serving ? 'ready' : inst.state.type === 'ready' ? 'starting' : inst.state.type,
        pid: inst.pid,
        versions: inst.versions,
        uptimeMs: Date.now() - inst.startedAt,
      }
    })
  }

  /** Where the unit's shared socket listens (config `listen`), once started. */
  get address(): { host: string; port: number } | undefined {
    return this.#socket && { host: this.#socket.host, port: this.#socket.port }
  }

  /** The build new instances run; undefined without builds (or before the first). */
  get build(): UnitBuild | undefined {
    return this.#build
  }

  /** Live instances, for tests and benches (e.g. to SIGKILL one). */
  instances(): InstanceProcess[] {
    return this.#sortedSlots().flatMap((s) => (s.instance ? [s.instance] : []))
  }

  /** Resolves when every slot has a serving instance; rejects on a crash loop or stop. */
  #allServing(): Promise<void> {
    return this.#until(() => {
      if (this.state === 'crash-loop')
        throw new TesseraError('UNAVAILABLE', `${this.spec.name} is crash-looping`)
      if (this.state !== 'running') throw new TesseraError('UNAVAILABLE', `${this.spec.name} was stopped`)
      return [...this.#slots.values()].every((s) => s.instance && this.#visible.has(s.instance))
    })
  }

  #addSlot(index: number): void {
    const slot: Slot = { index, instance: undefined, restartTimer: undefined }
    this.#slots.set(index, slot)
    this.#install(slot, this.#spawn(index))
  }

  #spawn(index: number, build: UnitBuild | undefined = this.#build): InstanceProcess {
    if (this.state === 'stopping' || this.state === 'stopped')
      throw new TesseraError('UNAVAILABLE', `${this.spec.name} is stopping`)
    if (this.#ctx.build && !build)
      throw new TesseraError('UNAVAILABLE', `${this.spec.name} has no build (it failed): deploy it`)
    const { ctx, spec } = { ctx: this.#ctx, spec: this.spec }
    const gen = ++this.#gen
    const nodeId = `${ctx.system}-${spec.name}-${index}-${gen}-${Math.random().toString(36).slice(2, 6)}`
    const useCgroup = spec.memoryMb !== undefined && ctx.cgroup !== undefined
    const secrets = ctx.credentialFor?.(nodeId, spec)
    const inst = new InstanceProcess({
      ...(secrets ? { credential: secrets.credential } : {}),
      ...(secrets?.natsLogin ? { natsLogin: secrets.natsLogin } : {}),
      label: `${spec.name}#${index}`,
      env: {
        nodeId,
        services: spec.services,
        needs: spec.needs,
        transport: ctx.transport,
        drainTimeoutMs: ctx.timing.drainTimeoutMs,
        drainGraceMs: ctx.timing.drainGraceMs,
        readyTimeoutMs: ctx.timing.readyTimeoutMs,
        ...(secrets ? { identity: true } : {}),
        ...(ctx.tracing ? { tracing: ctx.tracing } : {}),
        ...(this.#socket
          ? { listen: { fd: LISTEN_FD, host: this.#socket.host, port: this.#socket.port } }
          : {}),
      },
      ...(this.#socket ? { listenFd: this.#socket.fd } : {}),
      program: build?.file ?? bootstrapProgram,
      nodeArgs: nodeArgs({
        tsx: build === undefined,
        ...(build ? { readDirs: [ctx.buildDir, ...build.packageDirs] } : {}),
        ...(spec.memoryMb !== undefined && !useCgroup ? { heapMb: spec.memoryMb } : {}),
        ...(spec.ownFolders ? { ownFolders: spec.ownFolders } : {}),
        ...(ctx.transport.kind === 'socket' ? { transportDir: ctx.transport.dir } : {}),
      }),
      cwd: ctx.root,
      extraEnv: spec.env,
      pingIntervalMs: ctx.timing.pingIntervalMs,
      pingTimeoutMs: ctx.timing.pingTimeoutMs,
      readyTimeoutMs: ctx.timing.readyTimeoutMs,
      stopTimeoutMs: ctx.timing.drainTimeoutMs + ctx.timing.drainGraceMs + 3000,
      onLine: (label, line, stream) => ctx.onLine(spec.name, label, line, stream),
      ...(ctx.onSpans ? { onSpans: (spans: SpanRecord[]) => ctx.onSpans?.(spans) } : {}),
    })
    this.#all.add(inst)
    if (build) this.#useBuild(build, inst)
    ctx.emit({ type: 'starting', unit: spec.name, instance: inst.label, pid: inst.pid })
    if (useCgroup && inst.pid !== undefined) {
      ctx.cgroup!.limit(inst.pid, nodeId, spec.memoryMb!).then(
        (release) => inst.exited.then(release),
        (err: Error) =>
          ctx.onLine(spec.name, inst.label, `supervisor: cgroup limit failed: ${err.message}`, 'stderr'),
      )
    }
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
          ms: Date.now() - inst.startedAt,
        })
        this.#notify()
      })
    serving.catch(() => {})
    this.#serving.set(inst, serving)
    void inst.exited.then(() => {
      this.#all.delete(inst)
      this.#notify()
    })
    return inst
  }

  /** Makes `inst` the slot's instance: from now on its unplanned exit is a crash of this unit. */
  #install(slot: Slot, inst: InstanceProcess): void {
    clearTimeout(slot.restartTimer)
    slot.restartTimer = undefined
    slot.instance = inst
    void inst.exited.then((s) => {
      if (slot.instance !== inst || s.planned || this.#slots.get(slot.index) !== slot) return
      this.#crashed(slot, inst, s)
    })
  }

  #crashed(slot: Slot, inst: InstanceProcess, s: InstanceProcess['state'] & { type: 'exited' }): void {
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
    const verdict = this.#crashes.record(Date.now())
    switch (verdict.type) {
      case 'crash-loop':
        this.state = 'crash-loop'
        for (const other of this.#slots.values()) {
          clearTimeout(other.restartTimer)
          other.restartTimer = undefined
        }
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
        slot.restartTimer = setTimeout(() => {
          slot.restartTimer = undefined
          // Skipped when an operation already put a new instance in the slot, or the unit stopped.
          if (this.state === 'running' && this.#slots.get(slot.index) === slot && slot.instance === inst)
            this.#install(slot, this.#spawn(slot.index))
        }, verdict.delayMs)
        break
    }
    this.#notify()
  }

  #clearCrashLoop(): void {
    this.#crashes.reset()
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

  /** Makes `build` the one new instances run; the previous one goes once no instance runs it. */
  #setBuild(build: UnitBuild): void {
    const previous = this.#build
    this.#build = build
    if (previous && previous !== build && !this.#buildUsers.has(previous)) void removeBuild(previous)
  }

  #useBuild(build: UnitBuild, inst: InstanceProcess): void {
    this.#buildUsers.set(build, (this.#buildUsers.get(build) ?? 0) + 1)
    void inst.exited.then(() => {
      const left = (this.#buildUsers.get(build) ?? 1) - 1
      if (left > 0) {
        this.#buildUsers.set(build, left)
        return
      }
      this.#buildUsers.delete(build)
      if (build !== this.#build) void removeBuild(build)
    })
  }

  async #retire(inst: InstanceProcess | undefined): Promise<void> {
    if (!inst || inst.state.type === 'exited') return
    await inst.stop()
    this.#ctx.emit({ type: 'stopped', unit: this.spec.name, instance: inst.label })
  }

  #sortedSlots(): Slot[] {
    return [...this.#slots.values()].sort((a, b) => a.index - b.index)
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work)
    this.#queue = run.catch(() => {})
    return run
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w()
  }

  /** Re-evaluates `check` on every change until it returns true (resolve) or throws (reject). */
  #until(check: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const test = () => {
        try {
          if (!check()) return
          this.#waiters.delete(test)
          resolve()
        } catch (err) {
          this.#waiters.delete(test)
          reject(err)
        }
      }
      this.#waiters.add(test)
      test()
    })
  }
}
