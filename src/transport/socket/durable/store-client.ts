import { connect, type Socket } from 'node:net'
import { TesseraError } from '../../../errors/index.ts'
import type { Logger } from '../../../observability/index.ts'
import type { DurableConsumer, DurableConsumerSpec, DurableEnvelope, DurableEvents } from '../../durable.ts'
import { type FromStore, jsonFrames, type ToStore } from './store-protocol.ts'
import { consumerKey, type StoredDead } from './store-records.ts'

export interface StoreClientOptions {
  socketPath: string
  logger: Logger
  /** Deliveries a consumer of this node may hold unacked at once. Default 64. */
  window?: number
  /** A request the store has not answered by then rejects UNAVAILABLE. Default 10 s. */
  requestTimeoutMs?: number
}

/** `DurableEvents` over the store's socket, with `close` for the transport that owns it. */
export type StoreEvents = DurableEvents & { close(): void }

interface Sub {
  spec: DurableConsumerSpec
  handle: (envelope: DurableEnvelope) => Promise<void>
  running: Set<Promise<void>>
  stopped: boolean
  /** Its first subscribe was answered: a reconnect subscribes it again (before that, `consume` does). */
  subscribed: boolean
}

type Conn = { socket: Socket; send: (m: ToStore) => void }

/**
 * A node's side of the socket event store (decision 0026): `DurableEvents` over one Unix
 * socket connection, opened on first use. While the store is unreachable a publish or a
 * new consume rejects UNAVAILABLE at once (the broker retries consumers every 2 s, an
 * outbox keeps its rows); consumers already made reconnect by themselves (every 0.2-2 s)
 * and subscribe again. Deliveries run concurrently up to `window`; each is acked once its
 * handler resolves, nacked with the spec's backoff when it rejects, and dead-lettered by
 * the store at `maxDeliver`. Acks name the consumer and sequence, so one from a handler
 * that outlived a store restart still counts.
 */
export function storeClient(options: StoreClientOptions): StoreEvents {
  const window = options.window ?? 64
  const timeoutMs = options.requestTimeoutMs ?? 10_000
  const log = options.logger.child({ component: 'event-store-client' })
  const subs = new Map<string, Sub>()
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let nextId = 1
  let conn: Conn | undefined
  let connecting: Promise<Conn> | undefined
  let retry: NodeJS.Timeout | undefined
  let retryMs = 200
  let closed = false

  const unavailable = (why: string) =>
    new TesseraError('UNAVAILABLE', `the event store at ${options.socketPath} is not reachable: ${why}`)

  const open = (): Promise<Conn> => {
    if (closed) return Promise.reject(unavailable('this transport is closed'))
    if (conn) return Promise.resolve(conn)
    connecting ??= new Promise<Conn>((resolve, reject) => {
      const socket = connect({ path: options.socketPath })
      socket.setNoDelay(true)
      const frames = jsonFrames(socket, (m) => onMessage(m as FromStore))
      const c: Conn = { socket, send: (m) => frames.send(m) }
      socket.once('connect', () => {
        connecting = undefined
        conn = c
        retryMs = 200
        resolve(c)
        for (const sub of subs.values()) if (sub.subscribed) subscribeOn(c, sub)
      })
      socket.on('error', (err) => {
        if (conn !== c && connecting) {
          connecting = undefined
          reject(unavailable(err.message))
        }
      })
      socket.once('close', () => {
        if (conn === c) {
          conn = undefined
          const lost = [...waiting.values()]
          waiting.clear()
          for (const w of lost) w.reject(unavailable('the connection closed'))
        }
        if (subs.size > 0) reconnectLater()
      })
    })
    return connecting
  }

  const reconnectLater = (): void => {
    if (closed || retry || conn || connecting) return
    retry = setTimeout(() => {
      retry = undefined
      open().catch(() => reconnectLater())
    }, retryMs)
    retry.unref()
    retryMs = Math.min(retryMs * 2, 2000)
  }

  const request = async (body: DistributiveOmit<ToStore & { id: number }, 'id'>): Promise<unknown> => {
    const c = await open()
    const id = nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id)
        reject(unavailable(`no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
      c.send({ ...body, id } as ToStore)
    })
  }

  const subscribeOn = (c: Conn, sub: Sub): void => {
    const id = nextId++
    waiting.set(id, {
      resolve: () => {},
      reject: (err) => log.warn({ err, event: sub.spec.event }, 'durable consumer not subscribed again'),
    })
    c.send({ t: 'sub', id, spec: sub.spec, window })
  }

  const onMessage = (m: FromStore): void => {
    if (m.t === 'msg') {
      deliver(m.k, m.s, m.n, m.env)
      return
    }
    const w = waiting.get(m.id)
    if (!w) return
    waiting.delete(m.id)
    if (m.t === 'ok') w.resolve(m.value)
    else w.reject(new TesseraError(m.code === 'BAD_REQUEST' ? 'BAD_REQUEST' : 'UNAVAILABLE', m.message))
  }

  const deliver = (k: string, seq: number, n: number, env: DurableEnvelope): void => {
    const sub = subs.get(k)
    if (!sub || sub.stopped) return // the store gives it to another subscriber once this one unsubscribes
    const run: Promise<void> = sub
      .handle(env)
      .then(
        () => conn?.send({ t: 'ack', k, s: seq }),
        (err: unknown) => {
          const error =
            err instanceof Error
              ? `${(err as { code?: string }).code ?? err.name}: ${err.message}`
              : String(err)
          if (n >= sub.spec.maxDeliver) {
            // Logged here, in the subscriber's own log, as on NATS (the store runs silent in the supervisor).
            log.warn(
              { eventId: env.id, event: env.event, deliveries: n, error },
              'durable event dead-lettered',
            )
            conn?.send({ t: 'term', k, s: seq, n, error })
            return
          }
          const b = sub.spec.backoffMs
          conn?.send({ t: 'nak', k, s: seq, delayMs: b[Math.min(n - 1, b.length - 1)] ?? 1000 })
        },
      )
      .finally(() => sub.running.delete(run))
    sub.running.add(run)
  }

  return {
    async publish(envelope) {
      await request({ t: 'pub', env: envelope })
    },
    async consume(spec, handle): Promise<DurableConsumer> {
      const k = consumerKey(spec)
      if (subs.has(k)) throw new TesseraError('CONFLICT', `this node already consumes ${k}`)
      const sub: Sub = { spec, handle, running: new Set(), stopped: false, subscribed: false }
      subs.set(k, sub)
      try {
        await request({ t: 'sub', spec, window })
        sub.subscribed = true
      } catch (err) {
        subs.delete(k)
        throw err
      }
      return {
        async stop() {
          if (sub.stopped) return
          sub.stopped = true
          // What is in hand finishes and is acked; the rest goes back to the store with the unsub.
          await Promise.allSettled([...sub.running])
          subs.delete(k)
          await request({ t: 'unsub', k }).catch(() => {})
        },
      }
    },
    dead: async (service) =>
      (await request(service === undefined ? { t: 'dead' } : { t: 'dead', service })) as StoredDead[],
    deadEvent: async (key) => (await request({ t: 'deadEvent', key })) as StoredDead | undefined,
    replay: async (keys) => (await request({ t: 'replay', keys: [...keys] })) as string[],
    discard: async (keys) => (await request({ t: 'discard', keys: [...keys] })) as string[],
    close() {
      closed = true
      clearTimeout(retry)
      conn?.socket.destroy()
      conn = undefined
      const lost = [...waiting.values()]
      waiting.clear()
      for (const w of lost) w.reject(unavailable('this transport is closed'))
    },
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
