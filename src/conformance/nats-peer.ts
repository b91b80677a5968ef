import type { NatsConnection } from 'nats'
import type { Envelope } from '../codec/index.ts'
import { encodeEnvelope } from '../codec/index.ts'
import { type Received, readBody } from './wire-frame.ts'

/** One NATS message seen by the runner, split into its envelopes. */
export interface Seen {
  subject: string
  /** The subject's tokens after `tessera.<ns>.` (e.g. `['discovery', '_', 'node-1']`). */
  tokens: string[]
  reply: string | undefined
  /** Whether the payload was a batch (0xc1 …). */
  batch: boolean
  messages: Received[]
  /** Why the batch framing was broken, if it was. */
  broken: string | undefined
}

/**
 * The runner's raw NATS side: one connection that records every message of the
 * namespace (`tessera.<ns>.>`) and publishes exactly what a rule asks for.
 */
export class NatsPeer {
  readonly seen: Seen[] = []
  private waiters = new Set<() => void>()
  /** Called with every message as it arrives (the runner answers calls to it here). */
  onSeen: (s: Seen) => void = () => {}

  private constructor(
    readonly nc: NatsConnection,
    readonly base: string,
  ) {
    nc.subscribe(`${base}.>`, {
      callback: (err, msg) => {
        if (err) return
        const seen = split(msg.subject, base, msg.reply, msg.data)
        this.seen.push(seen)
        this.onSeen(seen)
        for (const w of [...this.waiters]) w()
      },
    })
  }

  static async open(url: string, namespace: string): Promise<NatsPeer> {
    // Loaded here: nats is an optional peer dependency, and the socket rules need none of it.
    const { connect } = await import('nats')
    const nc = await connect({ servers: url, name: 'tessera-conformance' })
    const peer = new NatsPeer(nc, `tessera.${namespace}`)
    await nc.flush()
    return peer
  }

  /** Publishes `envs` on `tessera.<ns>.<rest>`: one bare envelope, or a batch of several. */
  publish(rest: string, envs: Envelope[], reply?: string): void {
    const bodies = envs.map((e) => encodeEnvelope(e))
    let payload: Uint8Array
    if (bodies.length === 1) payload = bodies[0]!
    else {
      const out = Buffer.alloc(1 + bodies.reduce((n, b) => n + 4 + b.length, 0))
      out[0] = 0xc1
      let pos = 1
      for (const b of bodies) {
        out.writeUInt32BE(b.length, pos)
        out.set(b, pos + 4)
        pos += 4 + b.length
      }
      payload = out
    }
    this.nc.publish(
      `${this.base}.${rest}`,
      payload,
      reply === undefined ? undefined : { reply: `${this.base}.${reply}` },
    )
  }

  /** The first message (with the envelope) at index `from` or later that matches, within `ms`. */
  async next(
    match: (s: Seen, r: Received) => boolean,
    ms: number,
    what: string,
    from = 0,
  ): Promise<{ seen: Seen; got: Received }> {
    const deadline = Date.now() + ms
    for (;;) {
      for (const s of this.seen.slice(from)) {
        const got = s.messages.find((r) => match(s, r))
        if (got) return { seen: s, got }
      }
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${what}: nothing within ${ms} ms`)
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          this.waiters.delete(done)
          resolve()
        }
        const timer = setTimeout(done, left)
        this.waiters.add(done)
      })
    }
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => {})
  }
}

function split(subject: string, base: string, reply: string | undefined, data: Uint8Array): Seen {
  const tokens = subject.startsWith(`${base}.`) ? subject.slice(base.length + 1).split('.') : [subject]
  const seen: Seen = {
    subject,
    tokens,
    reply: reply || undefined,
    batch: false,
    messages: [],
    broken: undefined,
  }
  if (data.length === 0) return seen // a server status (no responders) has no body
  if (data[0] !== 0xc1) {
    seen.messages.push(readBody(data))
    return seen
  }
  seen.batch = true
  let pos = 1
  while (pos < data.length) {
    if (pos + 4 > data.length) {
      seen.broken = 'a batch ends inside a length prefix'
      break
    }
    const len = Buffer.from(data.buffer, data.byteOffset + pos, 4).readUInt32BE(0)
    pos += 4
    if (pos + len > data.length) {
      seen.broken = 'a batch item runs past the end'
      break
    }
    seen.messages.push(readBody(data.subarray(pos, pos + len)))
    pos += len
  }
  return seen
}
