import { newTrace, parseTraceparent } from '../context/index.ts'
import type { AnyService } from '../contract/index.ts'
import type { Logger } from '../observability/index.ts'
import type { DurableConsumer, DurableEnvelope, DurableEvents } from '../transport/index.ts'
import { CallContext, type ContextPort } from './call-context.ts'
import type { ServiceHost } from './service-host.ts'

export interface DurableSubscriptionsDeps {
  nodeId: string
  host: ServiceHost
  port: ContextPort
  logger: Logger
  /** Budget of one handler run, as for at-most-once events. */
  handlerTimeout: number
  /** Principals from the store are believed only without credentials (no proof travels with them). */
  trustPrincipals: boolean
}

/** How long to wait before trying again a consumer that could not be made (JetStream down or absent). */
const RETRY_MS = 2_000

/**
 * The durable consumers of the services hosted on this node: one per `durable`
 * subscription, started when the service starts taking traffic and stopped before it
 * drains. A consumer that cannot be made (the server down, JetStream not enabled) does
 * not fail the start: it is logged as an error and tried again every 2 s, while the
 * events wait where they are (the stream, or the emitters' outboxes).
 */
export class DurableSubscriptions {
  readonly #d: DurableSubscriptionsDeps
  readonly #consumers = new Map<string, DurableConsumer[]>()
  readonly #retries = new Map<string, Set<NodeJS.Timeout>>()

  constructor(deps: DurableSubscriptionsDeps) {
    this.#d = deps
  }

  async start(durable: DurableEvents | undefined, service: AnyService): Promise<void> {
    const subs = Object.entries(service.on).filter(([, sub]) => sub.durable !== undefined)
    if (subs.length === 0 || this.#consumers.has(service.name)) return
    if (!durable) {
      this.#d.logger.warn(
        { service: service.name, events: subs.map(([e]) => e) },
        'durable subscriptions need a transport with durable events; they receive nothing here',
      )
      return
    }
    const started: DurableConsumer[] = []
    this.#consumers.set(service.name, started)
    this.#retries.set(service.name, new Set())
    for (const [event, sub] of subs) {
      const options = sub.durable
      if (!options) continue
      const spec = { service: service.name, event, mode: sub.mode, nodeId: this.#d.nodeId, ...options }
      const attempt = async (): Promise<void> => {
        try {
          const consumer = await durable.consume(spec, (envelope) => this.#run(service.name, envelope))
          if (this.#consumers.get(service.name) === started) started.push(consumer)
          else await consumer.stop() // stopped meanwhile
        } catch (err) {
          const retries = this.#retries.get(service.name)
          if (!retries) return
          this.#d.logger.error(
            { service: service.name, event, err },
            'durable consumer not started; retrying',
          )
          const timer = setTimeout(() => {
            retries.delete(timer)
            void attempt()
          }, RETRY_MS)
          timer.unref()
          retries.add(timer)
        }
      }
      await attempt()
    }
  }

  async stop(service: string): Promise<void> {
    for (const timer of this.#retries.get(service) ?? []) clearTimeout(timer)
    this.#retries.delete(service)
    const consumers = this.#consumers.get(service) ?? []
    this.#consumers.delete(service)
    await Promise.all(consumers.map((c) => c.stop()))
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#consumers.keys()].map((s) => this.stop(s)))
  }

  #run(service: string, e: DurableEnvelope): Promise<void> {
    const d = this.#d
    const ctx = new CallContext(
      d.port,
      service,
      e.requestId,
      parseTraceparent(e.traceparent) ?? newTrace(),
      e.service,
      d.trustPrincipals ? e.principal : undefined,
      d.port.now() + d.handlerTimeout,
      {},
    )
    ctx.eventId = e.id
    return d.host.runDurable(service, e.event, e.payload, ctx)
  }
}
