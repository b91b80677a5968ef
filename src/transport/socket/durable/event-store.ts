import { createServer, type Server, type Socket } from 'node:net'
import { dirname } from 'node:path'
import { ensurePrivateDir } from '../../../files/index.ts'
import { type Logger, silentLogger } from '../../../observability/index.ts'
import type { DurableConsumerSpec } from '../../durable.ts'
import { listenOnPath } from '../listener.ts'
import type { Subscriber } from './consumer.ts'
import { EventEngine } from './event-engine.ts'
import { type FromStore, jsonFrames, type ToStore } from './store-protocol.ts'
import { consumerKey } from './store-records.ts'

export interface EventStoreOptions {
  /** The folder of the log and its snapshot (created 0700), e.g. `<stateDir>/events`. */
  dir: string
  /** The Unix socket nodes reach the store on, e.g. `<socket dir>/.events.sock`. */
  socketPath: string
  logger?: Logger
  /** Events older than this are removed (with their whole segment). Default 7 days. */
  maxAgeMs?: number
  /** The log is kept under about this many bytes of events, oldest segments removed first. Default 1 GiB. */
  maxBytes?: number
  /** Size at which a segment is closed and the next begun. Default 8 MiB. */
  segmentBytes?: number
  /** The same event id published again within this window is stored once. Default 2 minutes. */
  duplicateWindowMs?: number
  /** A broadcast consumer whose instance has been gone this long is removed. Default 60 s. */
  inactiveMs?: number
  /** How often fully acked and expired segments are removed. Default 30 s. */
  compactIntervalMs?: number
}

/** The event store, served: `socketPath` is what `socketTransport({ durable })` is given. */
export interface EventStore extends AsyncDisposable {
  readonly socketPath: string
  /** Removes what retention and acks allow now (it also runs every `compactIntervalMs`); resolves the segments removed. */
  compact(): Promise<number[]>
  stats(): ReturnType<EventEngine['stats']>
  /** Stops serving (connected nodes see the store gone and reconnect), writes what is queued, closes the log. */
  close(): Promise<void>
}

/**
 * Opens the event store of the socket transport in `dir` and serves it on `socketPath`
 * (decision 0026). The runtime's supervisor runs one per system; a test or a hand-wired
 * system starts its own and passes it to each node's transport:
 *
 * @example
 * await using store = await createEventStore({ dir: '/var/lib/shop/events', socketPath: '/tmp/shop/.events.sock' })
 * const broker = createBroker({ services, transport: socketTransport({ dir: '/tmp/shop', durable: store }) })
 *
 * Rejects when the folder cannot be used or a live store already answers on `socketPath`
 * (a stale socket file of a dead one is removed).
 */
export async function createEventStore(options: EventStoreOptions): Promise<EventStore> {
  const logger = (options.logger ?? silentLogger).child({ component: 'event-store' })
  ensurePrivateDir(options.dir)
  ensurePrivateDir(dirname(options.socketPath))
  const engine = await EventEngine.open({
    dir: options.dir,
    logger,
    segmentBytes: options.segmentBytes ?? 8 * 1024 * 1024,
    maxAgeMs: options.maxAgeMs ?? 7 * 24 * 3600_000,
    maxBytes: options.maxBytes ?? 1024 * 1024 * 1024,
    duplicateWindowMs: options.duplicateWindowMs ?? 120_000,
    inactiveMs: options.inactiveMs ?? 60_000,
    now: Date.now,
  })
  const sockets = new Set<Socket>()
  const server: Server = createServer({ noDelay: true }, (socket) => serve(engine, socket, sockets, logger))
  try {
    await listenOnPath(server, options.socketPath, 'event store')
  } catch (err) {
    await engine.close()
    throw err
  }
  let compacting: Promise<unknown> = Promise.resolve()
  const compact = (): Promise<number[]> => {
    const run = compacting.then(() => engine.compact())
    compacting = run.catch((err: unknown) => logger.error({ err }, 'event store compaction failed'))
    return run
  }
  const timer = setInterval(() => void compact().catch(() => {}), options.compactIntervalMs ?? 30_000)
  timer.unref()
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(timer)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const s of sockets) s.destroy()
      await closed
      await compacting
      await engine.close()
    })()
    return closing
  }
  return {
    socketPath: options.socketPath,
    compact,
    stats: () => engine.stats(),
    close,
    [Symbol.asyncDispose]: close,
  }
}

/** One node's connection: its requests, and a subscriber per consumer it reads. */
function serve(engine: EventEngine, socket: Socket, sockets: Set<Socket>, logger: Logger): void {
  sockets.add(socket)
  const subs = new Map<string, Subscriber>()
  const frames = jsonFrames(socket, (m) => {
    try {
      onRequest(m as ToStore)
    } catch (err) {
      logger.warn({ err }, 'event store request refused; connection closed')
      socket.destroy()
    }
  })
  const send = (m: FromStore) => frames.send(m)
  const answer = (id: number, work: () => unknown): void => {
    Promise.resolve()
      .then(work)
      .then(
        (value) => send(value === undefined ? { t: 'ok', id } : { t: 'ok', id, value }),
        (err: unknown) => {
          const code = (err as { code?: unknown }).code
          send({
            t: 'err',
            id,
            code: typeof code === 'string' ? code : 'UNAVAILABLE',
            message: err instanceof Error ? err.message : String(err),
          })
        },
      )
  }
  const subscribe = (spec: DurableConsumerSpec, window: number): void => {
    const k = consumerKey(spec)
    const old = subs.get(k)
    if (old) engine.unsubscribe(k, old)
    const sub: Subscriber = {
      window: Math.max(1, Math.min(window, 1024)),
      inFlight: new Set(),
      deliver(seq, n) {
        const env = engine.envelope(seq)
        if (env) send({ t: 'msg', k, s: seq, n, env })
      },
    }
    subs.set(k, sub)
    engine.subscribe(spec, sub)
  }
  const onRequest = (m: ToStore): void => {
    switch (m.t) {
      case 'pub':
        answer(m.id, () => engine.publish(m.env))
        return
      case 'sub':
        answer(m.id, () => subscribe(m.spec, m.window))
        return
      case 'unsub':
        answer(m.id, () => {
          const sub = subs.get(m.k)
          subs.delete(m.k)
          if (sub) engine.unsubscribe(m.k, sub)
        })
        return
      case 'ack':
        engine.ack(m.k, m.s)
        return
      case 'nak':
        engine.nak(m.k, m.s, m.delayMs)
        return
      case 'term':
        engine.term(m.k, m.s, m.n, m.error)
        return
      case 'dead':
        answer(m.id, () => engine.dead(m.service))
        return
      case 'deadEvent':
        answer(m.id, () => engine.deadEvent(m.key))
        return
      case 'replay':
        answer(m.id, () => engine.replay(m.keys))
        return
      case 'discard':
        answer(m.id, () => engine.discard(m.keys))
        return
      default: {
        const never: never = m
        throw new Error(`unknown event store request ${JSON.stringify(never)}`)
      }
    }
  }
  socket.on('error', () => {}) // 'close' follows
  socket.once('close', () => {
    sockets.delete(socket)
    for (const [k, sub] of subs) engine.unsubscribe(k, sub)
    subs.clear()
  })
}
