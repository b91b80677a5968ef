import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { NatsConnection, Subscription } from 'nats'
import { isErrorCode, isTesseraError, TesseraError } from '../../errors/index.ts'

/** How far a request's clock may be from ours, and how long its nonce is remembered. */
const SKEW_MS = 30_000

type Handler = (args: Record<string, unknown>, from: string) => Promise<unknown>

interface Signed {
  body: string
  mac: string
}

/**
 * Requests between the agents of one system, over NATS request/reply on
 * `tessera.hosts.<namespace>.<host>`. Every request and reply is a JSON body with an
 * HMAC-SHA256 of the system key's control key (system-key.ts): a NATS client without
 * the key can neither send an operation nor forge an answer, and a request is refused
 * when its time is more than 30 s off or its nonce was seen (no replays). A handler's
 * TesseraError comes back as the same code and message; anything else as INTERNAL.
 */
export class AgentRpc {
  readonly #nc: NatsConnection
  readonly #namespace: string
  readonly #key: Buffer
  readonly #host: string
  readonly #seen = new Map<string, number>()
  #sub: Subscription | undefined

  constructor(nc: NatsConnection, namespace: string, key: Buffer, host: string) {
    this.#nc = nc
    this.#namespace = namespace
    this.#key = key
    this.#host = host
  }

  /** Serves requests addressed to this host with `handlers`, by operation name. */
  serve(handlers: Record<string, Handler>): void {
    this.#sub = this.#nc.subscribe(this.#subject(this.#host), {
      callback: (err, msg) => {
        if (err) return
        void (async () => {
          let answer: unknown
          try {
            const request = this.#open(msg.data) as {
              op: string
              args: Record<string, unknown>
              from: string
              ts: number
              nonce: string
            }
            this.#fresh(request.ts, request.nonce)
            const handler = handlers[request.op]
            if (!handler) throw new TesseraError('NOT_FOUND', `no agent operation ${request.op}`)
            answer = { ok: true, result: await handler(request.args, request.from) }
          } catch (e) {
            answer = isTesseraError(e)
              ? { ok: false, code: e.code, message: e.message }
              : { ok: false, code: 'INTERNAL', message: (e as Error).message }
          }
          if (msg.reply) msg.respond(this.#seal(answer))
        })()
      },
    })
  }

  /**
   * Asks the agent of `host` to run `op`; resolves with its result, rejects with its
   * error, or UNAVAILABLE when it does not answer within `timeoutMs`.
   */
  async request<T>(host: string, op: string, args: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    const body = { op, args, from: this.#host, ts: Date.now(), nonce: randomBytes(12).toString('hex') }
    let reply: Uint8Array
    try {
      reply = (await this.#nc.request(this.#subject(host), this.#seal(body), { timeout: timeoutMs })).data
    } catch (err) {
      throw new TesseraError('UNAVAILABLE', `host ${host} did not answer ${op}: ${(err as Error).message}`)
    }
    const answer = this.#open(reply) as { ok: true; result: T } | { ok: false; code: string; message: string }
    if (answer.ok) return answer.result
    throw new TesseraError(isErrorCode(answer.code) ? answer.code : 'INTERNAL', `${host}: ${answer.message}`)
  }

  close(): void {
    this.#sub?.unsubscribe()
  }

  #subject(host: string): string {
    return `tessera.hosts.${this.#namespace}.${host}`
  }

  #seal(value: unknown): Uint8Array {
    const body = JSON.stringify(value)
    const signed: Signed = { body, mac: this.#mac(body) }
    return new TextEncoder().encode(JSON.stringify(signed))
  }

  #open(data: Uint8Array): unknown {
    let signed: Signed
    try {
      signed = JSON.parse(new TextDecoder().decode(data)) as Signed
    } catch {
      throw new TesseraError('UNAUTHORIZED', 'agent message is not signed JSON')
    }
    const want = Buffer.from(this.#mac(String(signed.body)), 'hex')
    const got = Buffer.from(String(signed.mac), 'hex')
    if (got.length !== want.length || !timingSafeEqual(got, want))
      throw new TesseraError('UNAUTHORIZED', 'agent message not signed with this system key')
    return JSON.parse(signed.body)
  }

  #fresh(ts: number, nonce: string): void {
    const now = Date.now()
    if (!(Math.abs(now - ts) <= SKEW_MS)) throw new TesseraError('UNAUTHORIZED', 'agent request too old')
    for (const [n, at] of this.#seen) if (now - at > 2 * SKEW_MS) this.#seen.delete(n)
    if (this.#seen.has(nonce)) throw new TesseraError('UNAUTHORIZED', 'agent request replayed')
    this.#seen.set(nonce, now)
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('hex')
  }
}
