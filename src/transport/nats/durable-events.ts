import type { ConsumerConfig, JetStreamClient, JetStreamManager, JsMsg, NatsConnection } from 'nats'
import { TesseraError } from '../../errors/index.ts'
import type { Logger } from '../../observability/index.ts'
import {
  type DeadEvent,
  type DurableConsumer,
  type DurableConsumerSpec,
  type DurableEnvelope,
  type DurableEvents,
  deadKey,
} from '../durable.ts'
import { loadNats, type NatsModule } from './connect.ts'
import { DeadLetters, REPLAYS_HEADER } from './durable-dead.ts'
import { durableNames } from './durable-names.ts'
import { withReplicas } from './stream-replicas.ts'

// Values of `nats` (an optional peer dependency) come from the module the connection was
// opened with (loadNats): importing them here would make every runtime that merely knows
// the NATS transport load `nats`. Every use below runs after `#streams()` has loaded it.
let natsModule: NatsModule | undefined
const nats = (): NatsModule => {
  if (!natsModule) throw new TesseraError('INTERNAL', 'durable events used before the nats module was loaded')
  return natsModule
}
const encoder = new TextEncoder()
const decoder = new TextDecoder()
const json = {
  encode: (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value)),
  decode: (data: Uint8Array): unknown => JSON.parse(decoder.decode(data)),
}

/** What the JetStream side of durable events needs from the transport. */
export interface JetStreamEventsOptions {
  nc: NatsConnection
  namespace: string
  /** The unit this node publishes under (a subject token). */
  unit: string
  logger: Logger
  /** How long the stream keeps an event nobody consumed, in ms. Default 7 days. */
  maxAgeMs?: number
  /** The stream's dedup window for `Nats-Msg-Id`, in ms. Default 2 minutes. */
  duplicateWindowMs?: number
}

/**
 * Durable events on JetStream (decision 0024): one stream per system
 * (`TESSERA_<ns>_EVENTS` over `tessera.<ns>.durable.<unit>.<event>`), the event id as
 * `Nats-Msg-Id`; a durable consumer per subscribing service and event (balanced) or per
 * instance (broadcast, removed by the server after a minute without its instance).
 * Tessera counts deliveries itself (the consumer's own max_deliver would drop the last
 * one silently): the delivery past `maxDeliver` goes to `TESSERA_<ns>_DEAD` with the
 * last error and is terminated, so nothing is lost without a trace. Dead letters are
 * listed, replayed to the failing service only, or discarded (durable-dead.ts, decision
 * 0027): each subscription has a second consumer on `TESSERA_<ns>_REPLAY` reading its
 * service's replay subject. Streams and consumers are created on first use; creating
 * what exists is a no-op.
 */
export function jetStreamEvents(options: JetStreamEventsOptions): DurableEvents {
  return new JetStreamEvents(options)
}

class JetStreamEvents implements DurableEvents {
  readonly #o: JetStreamEventsOptions
  readonly #names: ReturnType<typeof durableNames>
  readonly #js: JetStreamClient
  readonly #dead: DeadLetters
  #ready: Promise<JetStreamManager> | undefined

  constructor(options: JetStreamEventsOptions) {
    this.#o = options
    this.#names = durableNames(options.namespace)
    this.#js = options.nc.jetstream()
    this.#dead = new DeadLetters(this.#js, this.#names, async () => ({
      jsm: await this.#streams(),
      nats: nats(),
    }))
  }

  async publish(envelope: DurableEnvelope): Promise<void> {
    await this.#streams()
    const h = nats().headers()
    h.set('Tessera-Service', envelope.service)
    try {
      await this.#js.publish(this.#names.subject(this.#o.unit, envelope.event), json.encode(envelope), {
        msgID: envelope.id,
        headers: h,
        timeout: 5000,
      })
    } catch (err) {
      throw new TesseraError(
        'UNAVAILABLE',
        `durable event ${envelope.event} was not stored: ${String(err)}`,
        {
          event: envelope.event,
          eventId: envelope.id,
        },
      )
    }
  }

  async consume(
    spec: DurableConsumerSpec,
    handle: (envelope: DurableEnvelope) => Promise<void>,
  ): Promise<DurableConsumer> {
    const jsm = await this.#streams()
    const main = await this.#pull(jsm, spec, handle, this.#names.stream, this.#names.consumer(spec), {
      filter_subject: this.#names.filter(spec.event),
      // A balanced service gets what was stored before it ever ran; a new instance of a
      // broadcast one only what comes after it.
      deliver_policy: spec.mode === 'broadcast' ? nats().DeliverPolicy.New : nats().DeliverPolicy.All,
    })
    // Replayed dead letters come on a subject of this service alone (decision 0027), so a
    // replay reaches this service and not the others subscribed to the event. A server that
    // refuses the replay consumer (a login from before 0027) leaves events flowing: only
    // replays to this service wait, until it is allowed.
    let replay: DurableConsumer | undefined
    try {
      replay = await this.#pull(
        jsm,
        spec,
        handle,
        this.#names.replayStream,
        this.#names.replayConsumer(spec),
        {
          filter_subject: this.#names.replaySubject(spec.service, spec.event),
          deliver_policy: spec.mode === 'broadcast' ? nats().DeliverPolicy.New : nats().DeliverPolicy.All,
        },
      )
    } catch (err) {
      this.#o.logger.error(
        { err, service: spec.service, event: spec.event },
        'replay consumer not created; replayed dead letters wait for it',
      )
    }
    return {
      stop: async () => {
        await Promise.all([main.stop(), replay?.stop()])
      },
    }
  }

  /** A durable pull consumer on `stream` running `#deliver` for each message. */
  async #pull(
    jsm: JetStreamManager,
    spec: DurableConsumerSpec,
    handle: (envelope: DurableEnvelope) => Promise<void>,
    stream: string,
    name: string,
    select: Pick<ConsumerConfig, 'filter_subject' | 'deliver_policy'>,
  ): Promise<DurableConsumer> {
    const config: Partial<ConsumerConfig> = {
      durable_name: name,
      ack_policy: nats().AckPolicy.Explicit,
      ack_wait: nats().nanos(spec.ackWaitMs),
      // Counted here, so the last delivery is dead-lettered rather than dropped.
      max_deliver: -1,
      ...select,
      max_ack_pending: 256,
      ...(spec.mode === 'broadcast' ? { inactive_threshold: nats().nanos(60_000) } : {}),
    }
    await jsm.consumers.add(stream, config)
    const consumer = await this.#js.consumers.get(stream, name)
    const messages = await consumer.consume({ max_messages: 64 })
    const log = this.#o.logger.child({ service: spec.service, event: spec.event, consumer: name })
    const running = (async () => {
      for await (const m of messages) await this.#deliver(spec, m, handle, log)
    })().catch((err: unknown) => log.error({ err }, 'durable consumer stopped'))
    return {
      stop: async () => {
        messages.stop()
        await running
      },
    }
  }

  async #deliver(
    spec: DurableConsumerSpec,
    m: JsMsg,
    handle: (envelope: DurableEnvelope) => Promise<void>,
    log: Logger,
  ): Promise<void> {
    // A replayed copy counts its deliveries afresh (a new message) and knows its generation.
    const replays = Number(m.headers?.get(REPLAYS_HEADER) || 0) || 0
    const deliveries = m.info.redeliveryCount
    let envelope: DurableEnvelope
    try {
      envelope = json.decode(m.data) as DurableEnvelope
    } catch (err) {
      log.error({ err, seq: m.seq }, 'durable event is not JSON; dead-lettered')
      await this.#bury(spec, undefined, m, deliveries, `undecodable: ${String(err)}`, replays)
      return
    }
    if (deliveries > spec.maxDeliver) {
      await this.#bury(
        spec,
        envelope,
        m,
        deliveries - 1,
        'delivered without an ack (the handler crashed or outran ackWaitMs)',
        replays,
      )
      return
    }
    try {
      await handle(envelope)
    } catch (err) {
      const error =
        err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err)
      if (deliveries >= spec.maxDeliver) {
        log.warn({ eventId: envelope.id, deliveries, error, replays }, 'durable event dead-lettered')
        await this.#bury(spec, envelope, m, deliveries, error, replays)
        return
      }
      const wait = spec.backoffMs[Math.min(deliveries - 1, spec.backoffMs.length - 1)] ?? 1000
      m.nak(wait)
      return
    }
    // If the ack is lost, the event comes again with the same id: handlers dedup by ctx.eventId.
    m.ack()
  }

  async #bury(
    spec: DurableConsumerSpec,
    envelope: DurableEnvelope | undefined,
    m: JsMsg,
    deliveries: number,
    error: string,
    replays: number,
  ): Promise<void> {
    const buried =
      envelope ?? ({ id: `seq-${m.seq}`, event: spec.event, service: '?', payload: null } as DurableEnvelope)
    const dead: DeadEvent = {
      key: deadKey(spec.service, buried.id),
      envelope: buried,
      service: spec.service,
      deliveries,
      error,
      at: Date.now(),
    }
    try {
      await this.#dead.bury(dead, replays)
    } catch (err) {
      // Not stored as dead: leave it unacked, so it comes again and is buried then.
      this.#o.logger.error({ err, eventId: dead.envelope.id }, 'dead letter not stored; redelivering')
      return
    }
    m.term()
  }

  dead(service?: string): Promise<DeadEvent[]> {
    return this.#dead.list(service)
  }

  deadEvent(key: string): Promise<DeadEvent | undefined> {
    return this.#dead.get(key)
  }

  replay(keys: readonly string[]): Promise<string[]> {
    return this.#dead.replay(keys)
  }

  discard(keys: readonly string[]): Promise<string[]> {
    return this.#dead.discard(keys)
  }

  /** Creates the events and dead-letter streams once per connection; a create of what exists is a no-op. */
  #streams(): Promise<JetStreamManager> {
    this.#ready ??= (async () => {
      natsModule ??= await loadNats()
      const jsm = await this.#o.nc.jetstreamManager({ timeout: 5000 })
      await ensureStream(jsm, {
        name: this.#names.stream,
        subjects: [this.#names.all],
        max_age: nats().nanos(this.#o.maxAgeMs ?? 7 * 24 * 3600_000),
        duplicate_window: nats().nanos(this.#o.duplicateWindowMs ?? 120_000),
      })
      // One message per dead letter's subject: a replayed event dead again replaces its first burial.
      await ensureStream(jsm, {
        name: this.#names.deadStream,
        subjects: [this.#names.deadAll],
        max_age: 0,
        max_msgs_per_subject: 1,
      })
      // Replays (decision 0027). A login from before them may not create this stream: events
      // still flow, only replay is unavailable (the replay consumer then logs why).
      await ensureStream(jsm, {
        name: this.#names.replayStream,
        subjects: [this.#names.replayAll],
        max_age: nats().nanos(this.#o.maxAgeMs ?? 7 * 24 * 3600_000),
        duplicate_window: nats().nanos(this.#o.duplicateWindowMs ?? 120_000),
      }).catch((err: unknown) =>
        this.#o.logger.error({ err }, 'replay stream not created; replay unavailable'),
      )
      return jsm
    })().catch((err: unknown) => {
      this.#ready = undefined
      throw new TesseraError('UNAVAILABLE', `JetStream is not available: ${String(err)}`)
    })
    return this.#ready
  }
}

async function ensureStream(
  jsm: JetStreamManager,
  config: {
    name: string
    subjects: string[]
    max_age: number
    duplicate_window?: number
    max_msgs_per_subject?: number
  },
): Promise<void> {
  try {
    await jsm.streams.info(config.name)
    return
  } catch {
    // Not there yet: create it below (two nodes racing both succeed or see it exist).
  }
  try {
    // Replicated where the cluster can place them: one server's loss loses no event.
    await withReplicas((replicas) =>
      jsm.streams.add({
        ...config,
        retention: nats().RetentionPolicy.Limits,
        storage: nats().StorageType.File,
        num_replicas: replicas,
      }),
    )
  } catch (err) {
    if (!String(err).includes('already in use')) throw err
  }
}
