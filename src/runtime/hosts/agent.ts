import { join } from 'node:path'
import type { NatsConnection } from 'nats'
import { systemClock } from '../../context/index.ts'
import { TesseraError } from '../../errors/index.ts'
import { planUnits, type SystemConfig, systemStateDir, type UnitSpec } from '../config/index.ts'
import {
  type Autoscaler,
  createSupervisor,
  type Progress,
  type Supervisor,
  type SupervisorOptions,
  type SystemStatus,
} from '../supervisor/index.ts'
import { AgentRpc } from './agent-rpc.ts'
import { type ClusterStatus, clusterStatus, hostedUnits } from './cluster-status.ts'
import { startHostAutoscaler } from './host-autoscale.ts'
import { hostLogs, type LogsQuery, logsQueryOf, mergeHostLogs, type SystemLogs } from './host-logs.ts'
import { type HostRecord, HostsKv, type Lease } from './hosts-kv.ts'
import { localConfig } from './local-config.ts'
import { connectAgent } from './nats-connection.ts'
import { assignFree, mayRun, placementOf } from './placement.ts'
import { loadSystemKey, SYSTEM_KEY_FILE } from './system-key.ts'

const HOST_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/

export interface AgentOptions extends Omit<SupervisorOptions, 'config' | 'root' | 'authority' | 'stateKey'> {
  /** The system's config, the same on every host (placement says who runs what). */
  config: SystemConfig
  root: string
  /** This host's name in the system (lowercase letters, digits, dashes). */
  host: string
  /** Labels placements may ask for (`zone: 'east'`). */
  labels?: Record<string, string>
  /**
   * How long a host's presence and its slot leases outlive its last renewal (renewed
   * every quarter of it). Default 2000 ms: a lost host leaves, and its slots are free to
   * take, 2 s after its last renewal. Every agent of a system should use the same.
   */
  leaseTtlMs?: number
  /** The system key file. Default `<stateDir of the config>/system-key` (system-key.ts). */
  systemKeyFile?: string
  /** Progress of the agent's own steps (claims, releases, moves). */
  progress?: Progress
  /**
   * Called once the agent fenced itself: it could not renew its leases for 3/4 of the
   * TTL, so it SIGKILLed every instance before another host may take their slots. The
   * agent is dead then; `tessera up --host` exits non-zero (a service manager restarts it).
   */
  onFenced?: (reason: string) => void
}

/** One host's agent of a system over many hosts (docs/hosts.md). */
export interface Agent extends AsyncDisposable {
  readonly host: string
  /** The local supervisor, running the slots this host holds. */
  readonly local: Supervisor
  /**
   * The same supervisor seen system-wide, for the control API: status of every host,
   * `scale` sets the system's count, `restart`/`deploy` roll every host in turn,
   * `stopInstance` takes `users#1@b`.
   */
  readonly supervisor: Supervisor
  status(): ClusterStatus
  /** Moves every instance of `unit` to host `to` (each: start there, ready and seen, then the old one drains). */
  move(unit: string, to: string, progress?: Progress): Promise<string>
  /**
   * The logs of every live host merged by time: this host's files, and each other host's
   * asked of its agent (the operation `logs`, at most 10 s each). A host that does not
   * answer is a note beside the lines of those that did.
   */
  logs(query: LogsQuery): Promise<SystemLogs>
  /** Hands this host's slots to others (they start them), then drains its instances and leaves. */
  close(): Promise<void>
}

/**
 * Starts the agent of `host`: joins the system's NATS (its JetStream holds presence,
 * slot leases and wanted counts, hosts-kv.ts), starts a supervisor with every unit at
 * zero instances, and then, every quarter TTL, renews its presence and leases, takes free
 * slots that the placement rule gives it (placement.ts `assignFree`) and runs exactly as
 * many instances of each unit as it holds slots. Rejects with BAD_REQUEST for a bad host
 * name or a system not on NATS, CONFLICT when a live agent already has this host name,
 * and as the NATS connection or JetStream fail.
 *
 * @example
 * await using agent = await startAgent({ config, root, host: 'b', labels: { zone: 'west' } })
 * await agent.move('users', 'a')
 */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const { config, root, host } = options
  if (!HOST_NAME.test(host))
    throw new TesseraError('BAD_REQUEST', `host name "${host}": lowercase letters, digits and dashes`)
  if (config.transport?.kind !== 'nats')
    throw new TesseraError(
      'BAD_REQUEST',
      'a system over many hosts needs the NATS transport (transport.kind nats)',
    )
  const ttl = options.leaseTtlMs ?? 2000
  const key = loadSystemKey(options.systemKeyFile ?? join(systemStateDir(config, root), SYSTEM_KEY_FILE))
  const specs = planUnits(config, root)
  const local = createSupervisor({
    ...options,
    config: localConfig(config, host),
    root,
    authority: key.authority,
    stateKey: key.stateKey,
  })
  if (local.transport.kind !== 'nats') throw new TypeError('resolved transport is not NATS')
  const namespace = local.transport.namespace
  const nc = await connectAgent(config.transport, `tessera-agent-${config.name}-${host}`)
  try {
    const kv = await HostsKv.open(nc, namespace, ttl, { onWait: (why) => options.progress?.(why) })
    const agent = new HostAgent(
      { ...options, leaseTtlMs: ttl },
      specs,
      local,
      nc,
      kv,
      namespace,
      key.controlKey,
    )
    await agent.start()
    return agent.facade()
  } catch (err) {
    await local.down().catch(() => {})
    await nc.close().catch(() => {})
    throw err
  }
}

class HostAgent {
  readonly #o: AgentOptions & { leaseTtlMs: number }
  readonly #specs: UnitSpec[]
  readonly #local: Supervisor
  readonly #nc: NatsConnection
  readonly #kv: HostsKv
  readonly #rpc: AgentRpc
  readonly #startedAt = Date.now()
  /** Slots held, by `unit.slot`, with the revision of our last write. */
  readonly #owned = new Map<string, Lease>()
  /** Instances started ahead of a lease (a move in): counted in the local target. */
  readonly #pending = new Map<string, number>()
  readonly #applying = new Map<string, Promise<void>>()
  #hosts: HostRecord[] = []
  #leases: Lease[] = []
  #lastRenew = Date.now()
  #timer: NodeJS.Timeout | undefined
  /** The next try after a failed renewal (see #renewSoon). */
  #retryTimer: NodeJS.Timeout | undefined
  #fenceTimer: NodeJS.Timeout | undefined
  #ticking = false
  #fenced = false
  #closing: Promise<void> | undefined
  /** A rebalancing move in progress (at most one per host). */
  #moving: Promise<void> | undefined
  /** The wanted count of each unit, as of the last renewal. */
  readonly #wanted = new Map<string, number>()
  /** System-wide autoscalers of the units whose slot 1 this host holds (host-autoscale.ts). */
  readonly #autoscalers = new Map<string, Autoscaler>()
  /** Autoscaled units this host would step but cannot (a p99 target), said once. */
  readonly #unscaled = new Set<string>()

  constructor(
    o: AgentOptions & { leaseTtlMs: number },
    specs: UnitSpec[],
    local: Supervisor,
    nc: NatsConnection,
    kv: HostsKv,
    namespace: string,
    controlKey: Buffer,
  ) {
    this.#o = o
    this.#specs = specs
    this.#local = local
    this.#nc = nc
    this.#kv = kv
    this.#rpc = new AgentRpc(nc, namespace, controlKey, o.host)
  }

  get #renewMs(): number {
    return Math.max(50, Math.floor(this.#o.leaseTtlMs / 4))
  }

  /** How soon a failed renewal is tried again: a fraction of a period, at most 1 s. */
  get #retryMs(): number {
    return Math.min(1_000, Math.max(50, Math.floor(this.#renewMs / 4)))
  }

  async start(): Promise<void> {
    // Another live agent under this name: wait out one TTL (the one before us may just
    // have died), then refuse.
    const until = Date.now() + this.#o.leaseTtlMs + this.#renewMs
    while ((await this.#kv.hosts()).some((h) => h.name === this.#o.host)) {
      if (Date.now() > until)
        throw new TesseraError(
          'CONFLICT',
          `host ${this.#o.host} already has a live agent in ${this.#o.config.name}`,
        )
      await sleep(this.#renewMs)
    }
    for (const spec of this.#specs) await this.#kv.initDesired(spec.name, spec.instances)
    this.#rpc.serve({
      restart: async (a) => {
        await this.#local.restart(String(a.unit), undefined, { force: a.force === true })
        return 'restarted'
      },
      deploy: async (a) => {
        await this.#local.deploy(String(a.unit), undefined, { force: a.force === true })
        return 'deployed'
      },
      'stop-instance': async (a) => {
        await this.#local.stopInstance(String(a.label), { kill: a.kill === true })
        return 'stopped'
      },
      logs: (a) => hostLogs(this.#local.logsDir, this.#o.host, logsQueryOf(a), this.#replyBytes()),
      'move-in': async (a) => {
        const lines: string[] = []
        const message = await this.#moveIn(String(a.unit), (m) => lines.push(m))
        return { message, lines }
      },
    })
    // No fence yet: it holds no lease before its first renewal round.
    await this.#kv.announce(this.#record())
    const { failed } = await this.#local.up(this.#o.progress)
    if (failed.length > 0) this.#o.progress?.(`not running here: ${failed.join(', ')}`)
    // Agents started together see each other before the first claims.
    await sleep(this.#renewMs * 2)
    await this.#tick()
    this.#timer = setInterval(() => void this.#tick(), this.#renewMs)
  }

  facade(): Agent {
    const local = this.#local
    const overrides: Partial<Supervisor> = {
      status: () => this.status(),
      scale: (unit, n, p) => this.scale(unit, n, p),
      restart: (unit, p, o) => this.#roll('restart', unit, p, o?.force === true),
      deploy: (unit, p, o) => this.#roll('deploy', unit, p, o?.force === true),
      stopInstance: (label, o, p) => this.#stopInstance(label, o?.kill === true, p),
      add: () => Promise.reject(notOverHosts('add')),
      remove: () => Promise.reject(notOverHosts('remove')),
      down: () => this.close(),
      close: () => this.close(),
      [Symbol.asyncDispose]: () => this.close(),
    }
    // The local supervisor's getters (config, transport, caller…) stay reachable through the prototype.
    const supervisor = Object.assign(Object.create(local) as Supervisor, overrides)
    return {
      host: this.#o.host,
      local,
      supervisor,
      status: () => this.status(),
      move: (unit, to, p) => this.move(unit, to, p),
      logs: (query) => this.logs(query),
      close: () => this.close(),
      [Symbol.asyncDispose]: () => this.close(),
    }
  }

  status(): ClusterStatus {
    const others = this.#hosts.filter((h) => h.name !== this.#o.host)
    return clusterStatus(this.#local.status(), this.#record(), others)
  }

  async scale(name: string, count: number, progress?: Progress): Promise<void> {
    const unit = this.#local.unit(name).spec.name
    if (!Number.isInteger(count) || count < 0 || count > 64)
      throw new TesseraError('BAD_REQUEST', `instances must be an integer from 0 to 64, got ${count}`)
    await this.#kv.setDesired(unit, count)
    progress?.(`${unit}: wanted ${count} instance(s) over all hosts`)
    await this.#until(`${unit} to run ${count} ready instance(s)`, 60_000, () => {
      const s = this.status().units.find((u) => u.name === unit)
      const held = this.#leases.filter((l) => l.unit === unit).length
      return held === count && s?.instances.length === count && s.instances.every((i) => i.state === 'ready')
    })
    progress?.(`${unit}: ${count} instance(s)`)
  }

  async move(name: string, to: string, progress?: Progress): Promise<string> {
    const unit = this.#local.unit(name).spec.name
    if (!this.#hosts.some((h) => h.name === to))
      throw new TesseraError('NOT_FOUND', `no live host ${to} in ${this.#o.config.name}`)
    progress?.(`${unit}: moving to ${to}`)
    if (to === this.#o.host) return this.#moveIn(unit, progress)
    // The target's steps come back with its answer (agent requests carry no stream).
    const { message, lines } = await this.#rpc.request<{ message: string; lines: string[] }>(
      to,
      'move-in',
      { unit },
      120_000,
    )
    for (const line of lines) progress?.(`${to}: ${line}`)
    return message
  }

  async logs(query: LogsQuery): Promise<SystemLogs> {
    const others = this.#hosts.filter((h) => h.name !== this.#o.host).map((h) => h.name)
    const asks = others.map((host) => ({
      host,
      answer: this.#rpc.request<Awaited<ReturnType<typeof hostLogs>>>(host, 'logs', { ...query }, 10_000),
    }))
    const own = await hostLogs(this.#local.logsDir, this.#o.host, query, Number.POSITIVE_INFINITY)
    return mergeHostLogs({ host: this.#o.host, logs: own }, asks, query.limit)
  }

  // What one agent reply may carry: a quarter of the server's max_payload (the lines are
  // JSON inside the signed JSON envelope, escaped twice), at most 256 KiB.
  #replyBytes(): number {
    return Math.min(256 * 1024, Math.floor((this.#nc.info?.max_payload ?? 1024 * 1024) / 4))
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer)
      clearTimeout(this.#retryTimer)
      clearTimeout(this.#fenceTimer)
      for (const a of this.#autoscalers.values()) a.stop()
      // Say we leave (no one gives us a slot now), then hand the slots over: others claim
      // and start them while ours still serve.
      if (!this.#fenced) await this.#kv.announce({ ...this.#record(), leaving: true }).catch(() => {})
      const given = [...this.#owned.values()]
      this.#owned.clear()
      for (const l of given) await this.#kv.release(l.unit, l.slot, l.revision).catch(() => {})
      if (given.length > 0 && !this.#fenced) {
        const hosts = await this.#kv.hosts().catch(() => this.#hosts)
        const live = hosts.some((h) => h.name !== this.#o.host && !h.leaving)
        if (live)
          await this.#until('other hosts to take over', 15_000, async () => {
            const leases = await this.#kv.leases().catch(() => [])
            return given.every((g) => leases.some((l) => l.unit === g.unit && l.slot === g.slot))
          }).catch(() => {})
      }
      // Wait until the new instances are ready elsewhere (they announce themselves each renewal).
      await sleep(this.#renewMs * 2)
      await this.#local.down()
      this.#rpc.close()
      await this.#nc.close().catch(() => {})
    })()
    return this.#closing
  }

  // One renewal: presence, then leases (a lost one drops its instance), the view of the
  // system, claims of free slots the rule gives this host, and the local instance counts.
  async #tick(): Promise<void> {
    if (this.#ticking || this.#closing || this.#fenced) return
    this.#ticking = true
    const sentAt = Date.now()
    try {
      await this.#kv.announce(this.#record())
      let lost = false
      for (const [k, lease] of this.#owned) {
        const revision = await this.#kv.write(lease.unit, lease.slot, this.#o.host, lease.revision)
        if (revision === undefined) {
          lost = true
          this.#owned.delete(k)
          this.#o.progress?.(
            `${lease.unit}: slot ${lease.slot} is no longer this host's; draining one instance`,
          )
        } else lease.revision = revision
      }
      this.#renewed(sentAt)
      // A leaving host still shows (its presence lives on) but takes nothing.
      this.#hosts = (await this.#kv.hosts()).filter((h) => !h.leaving)
      this.#leases = await this.#kv.leases()
      for (const spec of this.#specs) await this.#placeUnit(spec)
      this.#autoscale()
      // A lost lease's instance is draining now: say so at once rather than a period
      // later, so that every host's status (and a move waiting for the drain) sees it.
      if (lost) await this.#kv.announce(this.#record())
    } catch (err) {
      this.#o.progress?.(`renewal failed: ${(err as Error).message}`)
      this.#renewSoon()
    } finally {
      this.#ticking = false
    }
  }

  // A failed renewal is tried again within a fraction of a period, not at the next one:
  // after every NATS server restarted, the KV takes writes again some seconds later (its
  // stream elects a leader) and its first writes may still find no responders. Waiting a
  // period each time left two or three tries before the fence with a long lease, and the
  // 3-host reference test saw every agent fence on those.
  #renewSoon(): void {
    if (this.#retryTimer || this.#closing || this.#fenced) return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      void this.#tick()
    }, this.#retryMs)
  }

  async #placeUnit(spec: UnitSpec): Promise<void> {
    const unit = spec.name
    const wanted = (await this.#kv.desired(unit)) ?? spec.instances
    this.#wanted.set(unit, wanted)
    // Slots above the wanted count: their holders give them up (the instance drains).
    for (const [k, lease] of this.#owned) {
      if (lease.unit !== unit || lease.slot <= wanted) continue
      this.#owned.delete(k)
      await this.#kv.release(unit, lease.slot, lease.revision)
      this.#o.progress?.(`${unit}: gave up slot ${lease.slot} (scaled to ${wanted})`)
    }
    const me = this.#hosts.find((h) => h.name === this.#o.host)
    const held = this.#leases.filter((l) => l.unit === unit)
    const free: number[] = []
    for (let slot = 1; slot <= wanted; slot++) if (!held.some((l) => l.slot === slot)) free.push(slot)
    // A unit moved to a host stays there: its new slots go there too while it lives.
    const pin = await this.#kv.pin(unit)
    const pinned = pin !== undefined && this.#hosts.some((h) => h.name === pin)
    if (me && free.length > 0) {
      const picks = assignFree({
        unit,
        free,
        placement: placementOf(this.#o.config, unit),
        hosts: pinned ? this.#hosts.filter((h) => h.name === pin) : this.#hosts,
        held: this.#leases,
      })
      for (const [slot, host] of picks) {
        if (host !== this.#o.host) continue
        const revision = await this.#kv.claim(unit, slot, host)
        if (revision === undefined) continue
        this.#owned.set(`${unit}.${slot}`, { unit, slot, host, revision })
        this.#leases.push({ unit, slot, host, revision })
        this.#o.progress?.(`${unit}: took slot ${slot}`)
      }
    }
    if (!this.#applying.has(unit) && this.#target(unit) !== this.#running(unit))
      void this.#apply(unit).catch((err: Error) => this.#o.progress?.(`${unit}: ${err.message}`))
    else if (me && free.length === 0 && pin === undefined) this.#rebalance(unit, me)
  }

  // Slots stay where they were claimed, so a host that joined late (or came back) would
  // run nothing. Evening out: a host that may run the unit and holds at least two fewer of
  // its slots than the fullest eligible host pulls one slot from it by a move (start here,
  // hand the lease over, the old one drains), one move at a time per host.
  #rebalance(unit: string, me: HostRecord): void {
    if (this.#moving || !mayRun(placementOf(this.#o.config, unit), me)) return
    const placement = placementOf(this.#o.config, unit)
    const counts = new Map<string, number>()
    for (const h of this.#hosts) if (mayRun(placement, h)) counts.set(h.name, 0)
    for (const l of this.#leases)
      if (l.unit === unit && counts.has(l.host)) counts.set(l.host, counts.get(l.host)! + 1)
    const mine = counts.get(this.#o.host) ?? 0
    const [from, most] = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0] ?? ['', 0]
    if (most < mine + 2) return
    this.#moving = this.#moveIn(unit, this.#o.progress, { from, max: 1 })
      .then((m) => this.#o.progress?.(`rebalanced: ${m}`))
      .catch((err: Error) => this.#o.progress?.(`${unit}: rebalance from ${from} failed: ${err.message}`))
      .finally(() => {
        this.#moving = undefined
      })
  }

  // The holder of a unit's slot 1 steps its system-wide count (host-autoscale.ts): started
  // when this host takes slot 1, stopped when it loses it (a move, a scale, a fence).
  #autoscale(): void {
    for (const spec of this.#specs) {
      if (!spec.autoscale) continue
      const unit = spec.name
      const mine = [...this.#owned.values()].some((l) => l.unit === unit && l.slot === 1)
      const running = this.#autoscalers.get(unit)
      if (mine && !running) {
        if (spec.autoscale.target.metric !== 'inFlight') {
          if (!this.#unscaled.has(unit))
            this.#o.progress?.(`${unit}: autoscaling on p99 is not supported over many hosts; not scaling`)
          this.#unscaled.add(unit)
          continue
        }
        this.#o.progress?.(`${unit}: this host holds slot 1, it autoscales the unit`)
        this.#autoscalers.set(
          unit,
          startHostAutoscaler({
            unit,
            spec: spec.autoscale,
            clock: systemClock,
            intervalMs: this.#renewMs,
            figures: () => this.#inFlightFigures(unit),
            wanted: () => this.#wanted.get(unit) ?? spec.instances,
            blocked: () => this.#autoscaleBlocked(unit),
            scale: (count) => this.scale(unit, count, this.#o.progress),
            emit: (e) => this.#o.onEvent?.(e),
            onError: (m) => this.#o.progress?.(`${unit}: ${m}`),
          }),
        )
      } else if (!mine && running) {
        running.stop()
        this.#autoscalers.delete(unit)
      }
    }
  }

  // In flight per ready instance of `unit`: this host's from their pongs, the others' as
  // their agents last announced them (at most one renewal old).
  #inFlightFigures(unit: string): number[] {
    const figures = this.#local
      .unit(unit)
      .instances()
      .filter((i) => i.state.type === 'ready')
      .map((i) => i.inFlight)
    for (const host of this.#hosts) {
      if (host.name === this.#o.host) continue
      for (const i of host.units.find((u) => u.name === unit)?.instances ?? [])
        if (i.state === 'ready') figures.push(i.inFlight ?? 0)
    }
    return figures
  }

  #autoscaleBlocked(unit: string): string | undefined {
    if (this.#moving) return 'a move is under way'
    const wanted = this.#wanted.get(unit)
    const ready = this.#inFlightFigures(unit).length
    return ready === wanted ? undefined : `${ready} of ${wanted} instance(s) ready`
  }

  #target(unit: string): number {
    let n = this.#pending.get(unit) ?? 0
    for (const l of this.#owned.values()) if (l.unit === unit) n++
    return n
  }

  #running(unit: string): number {
    return this.#local.unit(unit).status().length
  }

  // Brings the local instance count of `unit` to its target once (after any scale in progress).
  async #apply(unit: string): Promise<void> {
    const before = this.#applying.get(unit)
    if (before) await before.catch(() => {})
    if (this.#fenced || this.#closing) return
    const target = this.#target(unit)
    if (target === this.#running(unit)) return
    const step = this.#local.scale(unit, target)
    this.#applying.set(unit, step)
    try {
      await step
    } finally {
      if (this.#applying.get(unit) === step) this.#applying.delete(unit)
    }
  }

  // The target side of a move: for each slot of `unit` another host holds, start one more
  // instance here, wait until it serves (seen by this host's caller, so announced to all),
  // take the lease over at the holder's revision (its next renewal fails and it drains its
  // instance), and wait until the old host has let it go.
  async #moveIn(unit: string, progress?: Progress, only?: { from: string; max: number }): Promise<string> {
    const me = this.#hosts.find((h) => h.name === this.#o.host) ?? this.#record()
    if (!mayRun(placementOf(this.#o.config, unit), me))
      throw new TesseraError('CONFLICT', `the placement of ${unit} does not allow host ${this.#o.host}`)
    if (!only) await this.#kv.setPin(unit, this.#o.host)
    let moved = 0
    for (;;) {
      if (only && moved >= only.max) break
      const theirs = (await this.#kv.leases()).filter(
        (l) => l.unit === unit && l.host !== this.#o.host && (!only || l.host === only.from),
      )
      const lease = theirs.sort((a, b) => b.slot - a.slot)[0]
      if (!lease) break
      this.#pending.set(unit, (this.#pending.get(unit) ?? 0) + 1)
      let taken = false
      try {
        await this.#apply(unit)
        if (this.#running(unit) < this.#target(unit))
          throw new TesseraError('UNAVAILABLE', `${unit} did not start on ${this.#o.host}`)
        // Callers on other hosts heard the new instance's announcement with ours; one
        // heartbeat more for any that missed it.
        await sleep(500)
        for (let attempt = 0; attempt < 20 && !taken; attempt++) {
          const now = (await this.#kv.leases()).find((l) => l.unit === unit && l.slot === lease.slot)
          if (!now) break // expired meanwhile (its host died): our tick claims it as a free slot
          const revision = await this.#kv.write(unit, lease.slot, this.#o.host, now.revision)
          if (revision === undefined) continue // renewed under us: read again
          this.#owned.set(`${unit}.${lease.slot}`, { unit, slot: lease.slot, host: this.#o.host, revision })
          taken = true
        }
      } finally {
        this.#pending.set(unit, (this.#pending.get(unit) ?? 1) - 1)
      }
      if (!taken) continue
      moved++
      progress?.(`${unit}: slot ${lease.slot} moved from ${lease.host}; it drains its instance`)
      // Its announcement (refreshed every renewal) lists draining instances until they exit.
      await this.#until(`${lease.host} to drain ${unit}`, 30_000, async () => {
        const hosts = await this.#kv.hosts()
        // This host's status shows what the move waited for, not the last renewal's view.
        this.#hosts = hosts.filter((h) => !h.leaving)
        const old = hosts.find((h) => h.name === lease.host)
        const count = old?.units.find((u) => u.name === unit)?.instances.length ?? 0
        const holds = (await this.#kv.leases()).filter((l) => l.unit === unit && l.host === lease.host).length
        return !old || count <= holds
      })
    }
    return moved === 0
      ? `${unit}: already all on ${this.#o.host}`
      : `${unit}: ${moved} instance(s) moved to ${this.#o.host}`
  }

  async #roll(op: 'restart' | 'deploy', name: string, progress: Progress | undefined, force: boolean) {
    const unit = this.#local.unit(name).spec.name
    const hosts = [...new Set(this.#leases.filter((l) => l.unit === unit).map((l) => l.host))].sort()
    for (const host of hosts) {
      progress?.(`${unit}: ${op} on ${host}`)
      if (host === this.#o.host) await this.#local[op](unit, undefined, { force })
      else await this.#rpc.request(host, op, { unit, force }, 300_000)
    }
    progress?.(`${unit}: ${op} done on ${hosts.length} host(s)`)
  }

  async #stopInstance(label: string, kill: boolean, progress?: Progress): Promise<void> {
    const at = label.lastIndexOf('@')
    if (at < 0)
      throw new TesseraError('BAD_REQUEST', `instance labels look like users#1@<host>, got ${label}`)
    const host = label.slice(at + 1)
    const local = label.slice(0, at)
    progress?.(`${local} on ${host}: ${kill ? 'SIGKILL' : 'SIGTERM'}`)
    if (host === this.#o.host) await this.#local.stopInstance(local, { kill }, progress)
    else await this.#rpc.request(host, 'stop-instance', { label: local, kill }, 60_000)
  }

  // Arms the fence for ¾ TTL after `sentAt`, the send time of the last renewal that
  // succeeded: a timer of its own, since a renewal stuck on a dead link may hang.
  #renewed(sentAt: number): void {
    this.#lastRenew = sentAt
    clearTimeout(this.#fenceTimer)
    if (this.#closing || this.#fenced) return
    const due = sentAt + (this.#o.leaseTtlMs * 3) / 4 - Date.now()
    this.#fenceTimer = setTimeout(
      () => {
        if (!this.#closing) this.#fence()
      },
      Math.max(0, due),
    )
  }

  // Fencing: our leases outlive our last write by the TTL, so past 3/4 of it without a
  // renewal another host may soon take our slots. Kill our
  // instances at once (no drain: calls to them fail over, which is what a lost host means),
  // stop renewing, and tell the owner of the process.
  #fence(): void {
    if (this.#fenced) return
    this.#fenced = true
    clearInterval(this.#timer)
    clearTimeout(this.#retryTimer)
    for (const a of this.#autoscalers.values()) a.stop()
    const reason = `no lease renewal for ${Date.now() - this.#lastRenew} ms (TTL ${this.#o.leaseTtlMs} ms)`
    this.#o.progress?.(`fenced: ${reason}; killing every instance`)
    for (const spec of this.#specs) {
      const runner = this.#local.unit(spec.name)
      // Killed first: stopping the runner would start a drain (and drop them from its list).
      for (const inst of runner.instances()) inst.kill(`fenced: ${reason}`, 'SIGKILL')
      void runner.stop()
    }
    this.#owned.clear()
    this.#o.onFenced?.(reason)
  }

  #record(): HostRecord {
    const status: SystemStatus = this.#local.status()
    return {
      name: this.#o.host,
      labels: this.#o.labels ?? {},
      pid: process.pid,
      startedAt: this.#startedAt,
      units: hostedUnits(status, (nodeId) => this.#inFlightOf(nodeId)),
    }
  }

  // A local instance's handler runs in flight as of its last pong (0 when unknown).
  #inFlightOf(nodeId: string): number {
    for (const spec of this.#specs)
      for (const i of this.#local.unit(spec.name).instances()) if (i.nodeId === nodeId) return i.inFlight
    return 0
  }

  async #until(what: string, timeoutMs: number, done: () => boolean | Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!(await done())) {
      if (Date.now() > deadline)
        throw new TesseraError('TIMEOUT', `gave up waiting for ${what} after ${timeoutMs} ms`)
      await sleep(this.#renewMs)
    }
  }
}

function notOverHosts(op: string): TesseraError {
  return new TesseraError(
    'CONFLICT',
    `${op} is not supported on a system over many hosts: change the config on every host and restart the agents`,
  )
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
