import type { JetStreamClient, JetStreamManager } from 'nats'
import { TesseraError } from '../../errors/index.ts'
import { type DeadEvent, deadKey } from '../durable.ts'
import type { NatsModule } from './connect.ts'
import type { durableNames } from './durable-names.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The header a replayed copy carries: how many times its dead letter was replayed. */
export const REPLAYS_HEADER = 'Tessera-Replays'

/** A dead letter as stored: the public record plus how many replays came before it. */
interface StoredDead extends DeadEvent {
  replays?: number
}

/**
 * The dead letters of one system on JetStream (decision 0027): stream `TESSERA_<ns>_DEAD`,
 * one subject per key (`tessera.<ns>.dead.<service>.<event id>`, both %-escaped), so a key
 * is read with one `last_by_subj` lookup and a new dead letter of a replayed event takes
 * the old one's place. Replay publishes a copy of the envelope on
 * `tessera.<ns>.replay.<service>.<event>` (stream `TESSERA_<ns>_REPLAY`), which only that
 * service's replay consumers read, then deletes the dead letter. Every step is idempotent:
 * dedup ids carry the replay generation, so a retried replay neither delivers twice nor
 * loses the event when the delete after a stored copy fails.
 */
export class DeadLetters {
  readonly #js: JetStreamClient
  readonly #names: ReturnType<typeof durableNames>
  readonly #ready: () => Promise<{ jsm: JetStreamManager; nats: NatsModule }>

  constructor(
    js: JetStreamClient,
    names: ReturnType<typeof durableNames>,
    ready: () => Promise<{ jsm: JetStreamManager; nats: NatsModule }>,
  ) {
    this.#js = js
    this.#names = names
    this.#ready = ready
  }

  /**
   * Stores a dead letter. `replays` is the generation of the delivery that failed (0 for
   * the original event): the dedup id is per generation, so a replayed event that fails
   * again is stored again rather than dropped as a duplicate of its first burial.
   * Rejects when not stored (the caller then leaves the message unacked).
   */
  async bury(dead: DeadEvent, replays: number): Promise<void> {
    await this.#ready()
    const stored: StoredDead = { ...dead, ...(replays > 0 ? { replays } : {}) }
    await this.#js.publish(this.#names.deadSubject(dead.service, dead.envelope.id), json(stored), {
      msgID: replays > 0 ? `${dead.key}#r${replays}` : dead.key,
      timeout: 5000,
    })
  }

  /** Every dead letter, oldest first, optionally of one subscribing service. */
  async list(service?: string): Promise<DeadEvent[]> {
    const { jsm } = await this.#ready()
    const out: DeadEvent[] = []
    const info = await jsm.streams.info(this.#names.deadStream)
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      try {
        const sm = await jsm.streams.getMessage(this.#names.deadStream, { seq })
        const dead = publicOf(JSON.parse(decoder.decode(sm.data)) as StoredDead)
        if (service === undefined || dead.service === service) out.push(dead)
      } catch {
        // A deleted sequence (replayed, discarded or replaced): skip it.
      }
    }
    return out
  }

  async get(key: string): Promise<DeadEvent | undefined> {
    const found = await this.#find(key)
    return found && publicOf(found.dead)
  }

  async replay(keys: readonly string[]): Promise<string[]> {
    const { jsm, nats } = await this.#ready()
    const done: string[] = []
    for (const key of new Set(keys)) {
      const found = await this.#find(key)
      if (!found) continue
      const { dead, seq } = found
      const replays = (dead.replays ?? 0) + 1
      const h = nats.headers()
      h.set('Tessera-Service', dead.envelope.service)
      h.set(REPLAYS_HEADER, String(replays))
      try {
        await this.#js.publish(
          this.#names.replaySubject(dead.service, dead.envelope.event),
          json(dead.envelope),
          {
            msgID: `${key}#r${replays}`,
            headers: h,
            timeout: 5000,
          },
        )
      } catch (err) {
        throw new TesseraError('UNAVAILABLE', `dead letter ${key} was not replayed: ${String(err)}`, {
          key,
          replayed: done,
        })
      }
      await this.#delete(jsm, seq, key)
      done.push(key)
    }
    return done
  }

  async discard(keys: readonly string[]): Promise<string[]> {
    const { jsm } = await this.#ready()
    const done: string[] = []
    for (const key of new Set(keys)) {
      const found = await this.#find(key)
      if (!found) continue
      await this.#delete(jsm, found.seq, key)
      done.push(key)
    }
    return done
  }

  /** The dead letter under a key and its sequence; undefined for a key never dead (or gone). */
  async #find(key: string): Promise<{ dead: StoredDead; seq: number } | undefined> {
    const { jsm } = await this.#ready()
    const colon = key.indexOf(':')
    if (colon <= 0 || colon === key.length - 1) return undefined
    const subject = this.#names.deadSubject(key.slice(0, colon), key.slice(colon + 1))
    try {
      const sm = await jsm.streams.getMessage(this.#names.deadStream, { last_by_subj: subject })
      const dead = JSON.parse(decoder.decode(sm.data)) as StoredDead
      return dead.key === key ? { dead, seq: sm.seq } : undefined
    } catch (err) {
      if (isNoMessage(err)) return undefined
      throw new TesseraError('UNAVAILABLE', `dead letters are not readable: ${String(err)}`, { key })
    }
  }

  async #delete(jsm: JetStreamManager, seq: number, key: string): Promise<void> {
    try {
      await jsm.streams.deleteMessage(this.#names.deadStream, seq, false)
    } catch (err) {
      // Gone already: a failed replay took its place (one message per subject) or another
      // operator removed it. Anything else is reported, the key named.
      if (isNoMessage(err)) return
      throw new TesseraError('UNAVAILABLE', `dead letter ${key} was not removed: ${String(err)}`, { key })
    }
  }
}

/** The dead letter as the interface shows it, without the stored replay generation. */
function publicOf(stored: StoredDead): DeadEvent {
  const { replays: _replays, ...dead } = stored
  // Dead letters stored before keys existed carry none: derive it the same way.
  return { ...dead, key: dead.key ?? deadKey(dead.service, dead.envelope.id) }
}

function json(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

/** The JetStream API's "no message found" (10037) and "message not found" answers. */
function isNoMessage(err: unknown): boolean {
  const code = (err as { api_error?: { err_code?: number } })?.api_error?.err_code
  return code === 10037 || /no message found|message not found/i.test(String(err))
}
