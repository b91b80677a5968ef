import type { KV, NatsConnection } from 'nats'
import { TesseraError } from '../../errors/index.ts'
import { whenJetStreamReady, withReplicas } from '../../transport/nats/index.ts'
import type { HostInfo, SlotOwner } from './placement.ts'

/** What an agent announces of itself, every renewal, under `host.<name>`. */
export interface HostRecord extends HostInfo {
  /** Its agent's pid and start time, to tell a restarted agent from the one before. */
  pid: number
  startedAt: number
  /** Its instances as its supervisor sees them (for `tessera status` on any host). */
  units: HostedUnit[]
  /** Set once it is leaving (down, SIGTERM): it claims nothing more and is given nothing. */
  leaving?: boolean
}

/** One unit as one host runs it. */
export interface HostedUnit {
  name: string
  state: string
  restarts: number
  instances: {
    label: string
    state: string
    pid: number | null
    nodeId: string | null
    reqPerSec: number
    /** Handler runs in flight as of its last pong (absent from agents of an older version). */
    inFlight?: number
  }[]
}

/** A slot lease as read: who holds it and the revision a compare-and-set must name. */
export interface Lease extends SlotOwner {
  revision: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * The shared state of a system over many hosts, in two JetStream KV buckets of its NATS
 * namespace (so nothing of ours decides who is alive or who owns what; JetStream does):
 *
 * - `<ns>-live` with the bucket TTL `leaseTtlMs`: `host.<name>` (presence) and
 *   `slot.<unit>.<n>` (the lease of one instance slot, value = the holder's host name).
 *   Every entry lives `leaseTtlMs` after its last write, so an agent that stops renewing
 *   (SIGKILL, partition) loses its presence and its slots within that time, and nobody
 *   needs to delete them. A lease is taken with `create` (fails if held), renewed and
 *   handed over with `update` at the revision last read (fails if someone else wrote
 *   since), given up with `delete` at its revision.
 * - `<ns>-desired` without TTL: `<unit>` → the instance count the system should run,
 *   set from the config by the first agent and by `scale` from any host; `pin.<unit>` →
 *   the host `move` last sent it to.
 */
export class HostsKv {
  readonly #live: KV
  readonly #desired: KV

  private constructor(live: KV, desired: KV) {
    this.#live = live
    this.#desired = desired
  }

  /**
   * Opens (creating if needed) the buckets. Rejects at once if the server has no JetStream;
   * waits up to `readyWithinMs` for a JetStream that is not ready yet (a cluster just
   * formed or restarted answers "no responders" or times out for a few seconds), telling
   * `onWait` each time.
   */
  static async open(
    nc: NatsConnection,
    namespace: string,
    leaseTtlMs: number,
    o: { readyWithinMs?: number; onWait?: (why: string) => void } = {},
  ): Promise<HostsKv> {
    if (!nc.info?.jetstream)
      throw new TesseraError(
        'UNAVAILABLE',
        `the NATS server ${nc.getServer()} has no JetStream: hosts keep their presence and leases in JetStream KV (start nats-server with -js, or jetstream {} in its config)`,
      )
    const bucket = namespace.replace(/[^A-Za-z0-9_-]/g, '_')
    const names = { live: `${bucket}-live`, desired: `${bucket}-desired` }
    // Made with a patient context: an R3 stream on a loaded cluster can take seconds.
    const maker = nc.jetstream({ timeout: 10_000 })
    await whenJetStreamReady(
      async () => {
        // Three replicas on a cluster: the leases outlive any one server (with one replica,
        // losing its server stopped every renewal, and every agent fenced itself).
        await withReplicas((replicas) =>
          maker.views.kv(names.live, { ttl: leaseTtlMs, history: 1, replicas }),
        )
        await withReplicas((replicas) => maker.views.kv(names.desired, { history: 1, replicas }))
      },
      {
        withinMs: o.readyWithinMs ?? 30_000,
        onWait: (err) => o.onWait?.(`JetStream not ready (${err.message}), trying again`),
      },
    )
    // A stream just made (or recovering) takes writes once its replicas elected a
    // leader; until then a write finds no responders.
    const jsm = await nc.jetstreamManager({ timeout: 10_000 })
    await whenJetStreamReady(
      async () => {
        for (const name of [names.live, names.desired]) {
          const info = await jsm.streams.info(`KV_${name}`)
          if (info.cluster && !info.cluster.leader)
            throw Object.assign(new Error(`stream KV_${name} has no leader yet`), { code: '503' })
        }
      },
      { withinMs: o.readyWithinMs ?? 30_000, retryMs: 200 },
    )
    // Used with an impatient one: a KV call on a dead link must give up well within a
    // lease, not after the 5 s default, and soon enough to be tried again several times
    // before the fence (a quarter lease, at most 2 s).
    const js = nc.jetstream({ timeout: Math.min(2_000, Math.max(250, Math.floor(leaseTtlMs / 4))) })
    const live = await js.views.kv(names.live, { bindOnly: true })
    const desired = await js.views.kv(names.desired, { bindOnly: true })
    return new HostsKv(live, desired)
  }

  announce(record: HostRecord): Promise<number> {
    return this.#live.put(`host.${record.name}`, encode(record))
  }

  /** The hosts whose presence has not expired. */
  async hosts(): Promise<HostRecord[]> {
    const found: HostRecord[] = []
    for (const key of await this.#keys('host.>')) {
      const e = await this.#live.get(key)
      if (e && e.operation === 'PUT') found.push(decode<HostRecord>(e.value))
    }
    return found
  }

  /** Every slot lease held now. */
  async leases(): Promise<Lease[]> {
    const found: Lease[] = []
    for (const key of await this.#keys('slot.>')) {
      const e = await this.#live.get(key)
      if (e?.operation !== 'PUT') continue
      const [, unit, slot] = key.split('.')
      found.push({ unit: unit!, slot: Number(slot), host: decoder.decode(e.value), revision: e.revision })
    }
    return found
  }

  /**
   * Takes a free slot; the revision, or undefined when another host holds it. Rejects
   * when JetStream cannot be reached (nothing is known then).
   */
  claim(unit: string, slot: number, host: string): Promise<number | undefined> {
    return this.#live.create(slotKey(unit, slot), encoder.encode(host)).catch(unlessChanged)
  }

  /**
   * Writes `host` over the lease at `revision`: a renewal (same host) or a hand-over (a
   * move). The new revision, or undefined when the lease changed since to another host
   * or went (taken, expired); one that moved on but still names `host` (our own earlier
   * write, timed out yet stored) is written over. Rejects when JetStream cannot be
   * reached (the lease may still be ours).
   */
  async write(unit: string, slot: number, host: string, revision: number): Promise<number | undefined> {
    const key = slotKey(unit, slot)
    const written = await this.#live.update(key, encoder.encode(host), revision).catch(unlessChanged)
    if (written !== undefined) return written
    const e = await this.#live.get(key)
    if (e?.operation !== 'PUT' || decoder.decode(e.value) !== host) return undefined
    return this.#live.update(key, encoder.encode(host), e.revision).catch(unlessChanged)
  }

  /** Gives a lease up; does nothing if it changed since `revision`. */
  async release(unit: string, slot: number, revision: number): Promise<void> {
    await this.#live.delete(slotKey(unit, slot), { previousSeq: revision }).catch(() => {})
  }

  /** The instance count wanted for `unit`, or undefined if none was set yet. */
  async desired(unit: string): Promise<number | undefined> {
    const e = await this.#desired.get(unit)
    return e && e.operation === 'PUT' ? Number(decoder.decode(e.value)) : undefined
  }

  /** Sets the wanted count only if none is set (the first agent's config wins). */
  async initDesired(unit: string, count: number): Promise<void> {
    await this.#desired.create(unit, encoder.encode(String(count))).catch(() => {})
  }

  /** The host `move` last sent `unit` to, if any: new slots go there while it lives, and nothing rebalances it. */
  async pin(unit: string): Promise<string | undefined> {
    const e = await this.#desired.get(`pin.${unit}`)
    return e && e.operation === 'PUT' ? decoder.decode(e.value) : undefined
  }

  async setPin(unit: string, host: string): Promise<void> {
    await this.#desired.put(`pin.${unit}`, encoder.encode(host))
  }

  async setDesired(unit: string, count: number): Promise<void> {
    await this.#desired.put(unit, encoder.encode(String(count)))
  }

  async #keys(filter: string): Promise<string[]> {
    const keys: string[] = []
    for await (const k of await this.#live.keys(filter)) keys.push(k)
    return keys
  }
}

// JetStream's "wrong last sequence" (API error 10071): the compare-and-set lost. Any other
// failure (timeout, no connection) says nothing about the lease, so it propagates.
function unlessChanged(err: unknown): undefined {
  if ((err as { api_error?: { err_code?: number } }).api_error?.err_code === 10071) return undefined
  throw err
}

function slotKey(unit: string, slot: number): string {
  return `slot.${unit}.${slot}`
}

function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

function decode<T>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T
}
