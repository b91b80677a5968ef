import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { TesseraError } from '../../../errors/index.ts'
import type { Logger } from '../../../observability/index.ts'
import type { DurableConsumerSpec, DurableEnvelope } from '../../durable.ts'
import { Consumer, type Subscriber, upperBound } from './consumer.ts'
import { RecordLog, syncDir } from './record-log.ts'
import { consumerKey, deadKeyOf, type LogRecord, type Snapshot, type StoredDead } from './store-records.ts'

export interface EngineOptions {
  dir: string
  logger: Logger
  segmentBytes: number
  maxAgeMs: number
  maxBytes: number
  duplicateWindowMs: number
  /** A broadcast consumer whose instance is gone this long is removed. */
  inactiveMs: number
  now: () => number
}

interface StoredEvent {
  seq: number
  at: number
  env: DurableEnvelope
  to: string | undefined
  segment: number
  bytes: number
}

const SNAPSHOT = 'snapshot.json'

/**
 * The socket transport's event store (decision 0026), without its socket: events in an
 * append-only log (record-log.ts), consumers with their positions, deliveries with
 * ackWait timers and backoff, dead letters. Every change is a log record; a snapshot of
 * all but the events lets `compact` remove closed segments that are fully acked or past
 * the retention limits. One engine per folder, in one process.
 */
export class EventEngine {
  readonly #o: EngineOptions
  #log!: RecordLog
  readonly #events = new Map<number, StoredEvent>()
  readonly #bySegment = new Map<number, number[]>()
  readonly #byEvent = new Map<string, number[]>()
  readonly #ids = new Map<string, number>()
  readonly #storing = new Map<string, Promise<void>>()
  readonly #consumers = new Map<string, Consumer>()
  readonly #consumersOf = new Map<string, Set<Consumer>>()
  readonly #dead = new Map<string, StoredDead>()
  #nextSeq = 1
  #bytes = 0
  /** Events stored since open (repeats within the dedup window not counted). */
  #stored = 0
  #closed = false

  private constructor(options: EngineOptions) {
    this.#o = options
  }

  static async open(options: EngineOptions): Promise<EventEngine> {
    const engine = new EventEngine(options)
    await engine.#load()
    return engine
  }

  async #load(): Promise<void> {
    const file = join(this.#o.dir, SNAPSHOT)
    const snap = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Snapshot) : undefined
    if (snap) {
      this.#nextSeq = snap.nextSeq
      for (const c of snap.consumers) {
        const consumer = this.#addConsumer(c.k, c.service, c.event, c.mode, c.node, c.floor)
        for (const s of c.done) consumer.done.add(s)
        for (const [s, n] of c.delivered ?? []) consumer.delivered.set(s, n)
      }
      for (const d of snap.dead) this.#dead.set(d.key, d)
      for (const [id, at] of snap.ids) this.#ids.set(id, at)
    }
    const after = (segment: number, end: number): boolean =>
      !snap || segment > snap.pos.segment || (segment === snap.pos.segment && end > snap.pos.offset)
    this.#log = await RecordLog.open(
      {
        dir: this.#o.dir,
        segmentBytes: this.#o.segmentBytes,
        onError: (err) => this.#o.logger.error({ err }, 'event store write failed; it refuses writes now'),
      },
      (r) => {
        const rec = r.value as LogRecord
        // Events are always taken (a snapshot holds none); the rest only when newer than the snapshot.
        if (rec.t === 'e') this.#applyEvent(rec, r.segment, r.bytes)
        else if (after(r.segment, r.end)) this.#apply(rec)
      },
    )
    for (const c of this.#consumers.values()) {
      this.#settleFloor(c)
      if (c.mode === 'broadcast') this.#idle(c)
    }
  }

  /** Stores an event; resolves once it is on disk (fsynced). Repeats of an id within the window resolve without storing. */
  async publish(env: DurableEnvelope): Promise<void> {
    if (this.#closed) throw new TesseraError('UNAVAILABLE', 'the event store is closing')
    const stored = this.#ids.get(env.id)
    if (stored !== undefined && stored > this.#o.now() - this.#o.duplicateWindowMs) return
    const storing = this.#storing.get(env.id)
    if (storing) return storing
    const rec: LogRecord = { t: 'e', s: this.#nextSeq++, at: this.#o.now(), env }
    const write = this.#write(rec, true).finally(() => this.#storing.delete(env.id))
    this.#storing.set(env.id, write)
    return write
  }

  async #write(rec: LogRecord & { t: 'e' }, sync: boolean): Promise<void> {
    let segment: number
    try {
      segment = await this.#log.append(rec, sync)
    } catch (err) {
      throw new TesseraError('UNAVAILABLE', `durable event ${rec.env.event} was not stored: ${String(err)}`, {
        event: rec.env.event,
        eventId: rec.env.id,
      })
    }
    this.#stored++
    // Approximate (UTF-16 length): it only feeds the size limit.
    this.#applyEvent(rec, segment, JSON.stringify(rec).length + 8)
  }

  #applyEvent(rec: LogRecord & { t: 'e' }, segment: number, bytes: number): void {
    if (this.#events.has(rec.s)) return
    const ev: StoredEvent = { seq: rec.s, at: rec.at, env: rec.env, to: rec.to, segment, bytes }
    this.#events.set(rec.s, ev)
    this.#bytes += bytes
    push(this.#bySegment, segment, rec.s)
    push(this.#byEvent, rec.env.event, rec.s)
    if (rec.to === undefined) this.#ids.set(rec.env.id, rec.at)
    if (rec.replayOf !== undefined) this.#dead.delete(rec.replayOf)
    if (rec.s >= this.#nextSeq) this.#nextSeq = rec.s + 1
    for (const c of this.#consumersOf.get(rec.env.event) ?? []) this.#pump(c)
  }

  #apply(rec: Exclude<LogRecord, { t: 'e' }>): void {
    switch (rec.t) {
      case 'c':
        if (!this.#consumers.has(rec.k))
          this.#addConsumer(rec.k, rec.service, rec.event, rec.mode, rec.node, rec.floor)
        return
      case 'cx':
        this.#removeConsumer(rec.k)
        return
      case 'a': {
        const c = this.#consumers.get(rec.k)
        if (c) this.#markDone(c, rec.s)
        return
      }
      case 'n': {
        const c = this.#consumers.get(rec.k)
        if (c && !c.isDone(rec.s) && rec.n > (c.delivered.get(rec.s) ?? 0)) c.delivered.set(rec.s, rec.n)
        return
      }
      case 'd': {
        this.#dead.delete(rec.dead.key)
        this.#dead.set(rec.dead.key, rec.dead)
        const c = this.#consumers.get(rec.k)
        if (c) this.#markDone(c, rec.s)
        return
      }
      case 'x':
        this.#dead.delete(rec.key)
        return
      default: {
        const never: never = rec
        throw new Error(`unknown record ${JSON.stringify(never)}`)
      }
    }
  }

  /** Appends a record that changes no event (an ack, a consumer, a dead letter) and applies it at once. */
  #record(rec: Exclude<LogRecord, { t: 'e' }>, sync = false): Promise<void> {
    this.#apply(rec)
    return this.#log.append(rec, sync).then(
      () => {},
      (err: unknown) => {
        // Applied in memory but maybe not on disk: after a restart the event comes again, as at least once allows.
        this.#o.logger.warn({ err, record: rec.t }, 'event store record not written')
      },
    )
  }

  #addConsumer(
    k: string,
    service: string,
    event: string,
    mode: 'balanced' | 'broadcast',
    node: string | undefined,
    floor: number,
  ): Consumer {
    const c = new Consumer(k, service, event, mode, node, floor)
    this.#consumers.set(k, c)
    const set = this.#consumersOf.get(event) ?? new Set()
    set.add(c)
    this.#consumersOf.set(event, set)
    return c
  }

  #removeConsumer(k: string): void {
    const c = this.#consumers.get(k)
    if (!c) return
    c.clearTimers()
    this.#consumers.delete(k)
    this.#consumersOf.get(c.event)?.delete(c)
  }

  /**
   * Adds a subscriber to the consumer of `spec`, creating the consumer the first time:
   * a balanced one has done nothing yet (it gets every retained event), a broadcast one
   * everything stored so far (it gets new events only).
   */
  subscribe(spec: DurableConsumerSpec, sub: Subscriber): void {
    const k = consumerKey(spec)
    let c = this.#consumers.get(k)
    if (!c) {
      void this.#record({
        t: 'c',
        k,
        service: spec.service,
        event: spec.event,
        mode: spec.mode,
        ...(spec.mode === 'broadcast' ? { node: spec.nodeId } : {}),
        floor: spec.mode === 'broadcast' ? this.#nextSeq - 1 : 0,
      })
      c = this.#consumers.get(k)!
    }
    c.retry = { maxDeliver: spec.maxDeliver, backoffMs: spec.backoffMs, ackWaitMs: spec.ackWaitMs }
    clearTimeout(c.idleTimer)
    c.idleTimer = undefined
    c.subs.push(sub)
    this.#pump(c)
  }

  /** Removes a subscriber (it unsubscribed or its connection closed): what it had in hand is delivered again at once. */
  unsubscribe(k: string, sub: Subscriber): void {
    const c = this.#consumers.get(k)
    if (!c) return
    const i = c.subs.indexOf(sub)
    if (i < 0) return
    c.subs.splice(i, 1)
    for (const seq of sub.inFlight) {
      const p = c.pending.get(seq)
      if (!p) continue
      clearTimeout(p.timer)
      p.timer = undefined
      p.to = undefined
      c.ready.add(seq)
    }
    sub.inFlight.clear()
    if (c.subs.length === 0 && c.mode === 'broadcast') this.#idle(c)
    this.#pump(c)
  }

  #idle(c: Consumer): void {
    clearTimeout(c.idleTimer)
    c.idleTimer = setTimeout(() => {
      if (c.subs.length === 0 && this.#consumers.get(c.key) === c) void this.#record({ t: 'cx', k: c.key })
    }, this.#o.inactiveMs)
    c.idleTimer.unref()
  }

  ack(k: string, seq: number): void {
    const c = this.#consumers.get(k)
    if (!c) return
    this.#release(c, seq)
    if (!c.isDone(seq) && this.#events.has(seq)) void this.#record({ t: 'a', k, s: seq })
    this.#pump(c)
  }

  /** The handler failed: deliver again after `delayMs`. */
  nak(k: string, seq: number, delayMs: number): void {
    const c = this.#consumers.get(k)
    const p = c?.pending.get(seq)
    if (!c || !p) return
    clearTimeout(p.timer)
    p.to?.inFlight.delete(seq)
    p.to = undefined
    p.timer = setTimeout(() => {
      p.timer = undefined
      if (c.pending.get(seq) !== p) return
      c.ready.add(seq)
      this.#pump(c)
    }, delayMs)
    p.timer.unref()
    this.#pump(c)
  }

  /** The handler failed its last allowed delivery: dead-letter it with the error. */
  term(k: string, seq: number, deliveries: number, error: string): void {
    const c = this.#consumers.get(k)
    if (c) this.#bury(c, seq, deliveries, error)
  }

  #bury(c: Consumer, seq: number, deliveries: number, error: string): void {
    const ev = this.#events.get(seq)
    this.#release(c, seq)
    if (!ev || c.isDone(seq)) return
    const dead: StoredDead = {
      key: deadKeyOf(c.service, ev.env.id),
      envelope: ev.env,
      service: c.service,
      deliveries,
      error,
      at: this.#o.now(),
    }
    this.#o.logger.warn({ key: dead.key, deliveries, error }, 'durable event dead-lettered')
    void this.#record({ t: 'd', k: c.key, s: seq, dead }, true)
    this.#pump(c)
  }

  /** Forgets a delivery of `seq` (acked or buried), freeing its subscriber's window. */
  #release(c: Consumer, seq: number): void {
    const p = c.pending.get(seq)
    if (!p) return
    clearTimeout(p.timer)
    p.to?.inFlight.delete(seq)
    c.pending.delete(seq)
    c.ready.delete(seq)
  }

  #markDone(c: Consumer, seq: number): void {
    c.markDone(seq, this.#byEvent.get(c.event) ?? [], (s) => !this.#isFor(c, s))
  }

  /** Moves a consumer's floor over what was compacted away or is not for it (after a load). */
  #settleFloor(c: Consumer): void {
    const seqs = this.#byEvent.get(c.event) ?? []
    const first = seqs[0]
    if (first !== undefined && c.floor < first - 1) c.floor = first - 1
    for (const s of c.done) if (s <= c.floor) c.done.delete(s)
    for (let i = upperBound(seqs, c.floor); i < seqs.length; i++) {
      const s = seqs[i]!
      if (c.done.delete(s) || !this.#isFor(c, s)) c.floor = s
      else break
    }
    for (const s of c.delivered.keys()) if (s <= c.floor) c.delivered.delete(s)
    c.cursor = Math.max(c.cursor, c.floor)
  }

  #isFor(c: Consumer, seq: number): boolean {
    const to = this.#events.get(seq)?.to
    return to === undefined || to === c.service
  }

  /** Hands out deliveries while a subscriber has room: redeliveries due first, then new events. */
  #pump(c: Consumer): void {
    if (this.#closed) return
    for (;;) {
      if (c.subs.length === 0) return
      const seq = this.#nextFor(c)
      if (seq === undefined) return
      const sub = c.pick()
      if (!sub) return
      const p = c.pending.get(seq) ?? { n: c.delivered.get(seq) ?? 0, to: undefined, timer: undefined }
      c.pending.set(seq, p)
      c.ready.delete(seq)
      if (seq > c.cursor) c.cursor = seq
      if (!this.#events.has(seq)) {
        c.pending.delete(seq) // removed by retention while waiting
        continue
      }
      if (p.n >= c.retry.maxDeliver) {
        this.#bury(c, seq, p.n, 'delivered without an ack (the handler crashed or outran ackWaitMs)')
        continue
      }
      p.n++
      void this.#record({ t: 'n', k: c.key, s: seq, n: p.n })
      p.to = sub
      sub.inFlight.add(seq)
      p.timer = setTimeout(() => this.#expire(c, seq, p), c.retry.ackWaitMs)
      p.timer.unref()
      sub.deliver(seq, p.n)
    }
  }

  /** The next sequence to hand out, without taking it: a due redelivery, else the first new one. */
  #nextFor(c: Consumer): number | undefined {
    for (const seq of c.ready) return seq
    const seqs = this.#byEvent.get(c.event)
    if (!seqs) return undefined
    for (let i = upperBound(seqs, c.cursor); i < seqs.length; i++) {
      const s = seqs[i]!
      if (!c.isDone(s) && !c.pending.has(s) && this.#isFor(c, s)) return s
      c.cursor = s
    }
    return undefined
  }

  #expire(
    c: Consumer,
    seq: number,
    p: { to: Subscriber | undefined; timer: NodeJS.Timeout | undefined },
  ): void {
    p.timer = undefined
    if (c.pending.get(seq) !== p || !p.to) return
    p.to.inFlight.delete(seq)
    p.to = undefined
    c.ready.add(seq)
    this.#pump(c)
  }

  /** The envelope of a stored sequence (what a delivery carries). */
  envelope(seq: number): DurableEnvelope | undefined {
    return this.#events.get(seq)?.env
  }

  dead(service?: string): StoredDead[] {
    return [...this.#dead.values()].filter((d) => service === undefined || d.service === service)
  }

  deadEvent(key: string): StoredDead | undefined {
    return this.#dead.get(key)
  }

  /** Stores each dead letter again for its subscribing service only; resolves the keys replayed. */
  async replay(keys: readonly string[]): Promise<string[]> {
    const done: string[] = []
    for (const key of new Set(keys)) {
      const dead = this.#dead.get(key)
      if (!dead) continue
      const rec: LogRecord = {
        t: 'e',
        s: this.#nextSeq++,
        at: this.#o.now(),
        env: dead.envelope,
        to: dead.service,
        replayOf: key,
      }
      await this.#write(rec, true)
      done.push(key)
    }
    return done
  }

  async discard(keys: readonly string[]): Promise<string[]> {
    const done: string[] = []
    for (const key of new Set(keys)) {
      if (!this.#dead.has(key)) continue
      await this.#record({ t: 'x', key }, true)
      done.push(key)
    }
    return done
  }

  /**
   * Writes a snapshot, then removes the closed segments whose every event is done by every
   * consumer of its event (an event nobody has subscribed to yet is kept), older than
   * `maxAgeMs`, or the oldest ones while the log exceeds `maxBytes`. Resolves the segments removed.
   */
  async compact(): Promise<number[]> {
    const now = this.#o.now()
    for (const [id, at] of this.#ids) if (at <= now - this.#o.duplicateWindowMs) this.#ids.delete(id)
    const closed = [...this.#bySegment.keys()]
      .filter((s) => s < this.#log.activeSegment)
      .sort((a, b) => a - b)
    const remove: number[] = []
    let bytes = this.#bytes
    for (const segment of closed) {
      const seqs = this.#bySegment.get(segment) ?? []
      const events = seqs.map((s) => this.#events.get(s)!)
      const old = events.every((e) => e.at < now - this.#o.maxAgeMs)
      const over = bytes > this.#o.maxBytes
      if (old || over || events.every((e) => this.#fullyDone(e))) {
        remove.push(segment)
        for (const e of events) bytes -= e.bytes
      }
    }
    // Segments with no events (acks only) are covered by the snapshot too.
    const empty = this.#log.segments().filter((s) => s < this.#log.activeSegment && !this.#bySegment.has(s))
    if (remove.length === 0 && empty.length === 0) return []
    await this.#snapshot()
    for (const segment of [...remove, ...empty]) {
      this.#log.remove(segment)
      this.#dropSegment(segment)
    }
    return [...remove, ...empty].sort((a, b) => a - b)
  }

  #fullyDone(e: StoredEvent): boolean {
    const consumers = [...(this.#consumersOf.get(e.env.event) ?? [])].filter((c) => this.#isFor(c, e.seq))
    return consumers.length > 0 && consumers.every((c) => c.isDone(e.seq))
  }

  #dropSegment(segment: number): void {
    const seqs = this.#bySegment.get(segment) ?? []
    this.#bySegment.delete(segment)
    const gone = new Set(seqs)
    const names = new Set<string>()
    for (const s of seqs) {
      const e = this.#events.get(s)
      if (!e) continue
      this.#bytes -= e.bytes
      names.add(e.env.event)
      this.#events.delete(s)
    }
    for (const name of names) {
      const kept = (this.#byEvent.get(name) ?? []).filter((s) => !gone.has(s))
      if (kept.length > 0) this.#byEvent.set(name, kept)
      else this.#byEvent.delete(name)
      for (const c of this.#consumersOf.get(name) ?? []) {
        for (const s of gone) {
          if (c.pending.has(s) && !c.pending.get(s)?.to) this.#release(c, s)
        }
        this.#settleFloor(c)
      }
    }
  }

  async #snapshot(): Promise<void> {
    await this.#log.flushed()
    const snap: Snapshot = {
      pos: this.#log.position,
      nextSeq: this.#nextSeq,
      consumers: [...this.#consumers.values()].map((c) => ({
        k: c.key,
        service: c.service,
        event: c.event,
        mode: c.mode,
        ...(c.node === undefined ? {} : { node: c.node }),
        floor: c.floor,
        done: [...c.done],
        delivered: [...c.delivered].filter(([s]) => !c.isDone(s)),
      })),
      dead: [...this.#dead.values()],
      ids: [...this.#ids],
    }
    const file = join(this.#o.dir, SNAPSHOT)
    const tmp = `${file}.tmp`
    writeFileSync(tmp, JSON.stringify(snap), { mode: 0o600 })
    const fh = await open(tmp, 'r+')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
    renameSync(tmp, file)
    syncDir(this.#o.dir)
  }

  /** What the store holds, for tests and status. */
  stats(): {
    events: number
    bytes: number
    segments: number[]
    consumers: number
    dead: number
    stored: number
    syncs: number
  } {
    return {
      stored: this.#stored,
      syncs: this.#log.syncs,
      events: this.#events.size,
      bytes: this.#bytes,
      segments: this.#log.segments(),
      consumers: this.#consumers.size,
      dead: this.#dead.size,
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const c of this.#consumers.values()) c.clearTimers()
    await Promise.allSettled(this.#storing.values())
    await this.#log.close()
  }
}

function push<K>(map: Map<K, number[]>, key: K, seq: number): void {
  const list = map.get(key)
  if (!list) map.set(key, [seq])
  else if (list.length === 0 || list[list.length - 1]! < seq) list.push(seq)
  else list.splice(upperBound(list, seq), 0, seq)
}
