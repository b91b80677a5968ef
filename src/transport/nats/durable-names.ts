import type { DurableConsumerSpec } from '../durable.ts'
import { natsSubjectBase, nodeToken } from './subjects.ts'

/**
 * The JetStream names of one system's durable events (decision 0024). Subjects:
 * `tessera.<ns>.durable.<unit>.<event>` (the emitting unit in the sender position, as
 * on node subjects, so per-unit permissions keep a unit from publishing as another) and
 * `tessera.<ns>.dead.<service>.<event id>` (one subject per dead letter, decision 0027) and
 * `tessera.<ns>.replay.<service>.<event>` (a replayed dead letter, read by that service
 * only). Durable names cannot hold dots: `.` becomes `_`.
 *
 * @example
 * durableNames('shop').consumer({ service: 'notifications', event: 'order.placed', mode: 'balanced', ... })
 * // 'notifications--order_placed'
 */
export function durableNames(namespace: string) {
  const base = natsSubjectBase(namespace)
  const token = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_')
  const ns = token(namespace)
  return {
    stream: `TESSERA_${ns}_EVENTS`,
    deadStream: `TESSERA_${ns}_DEAD`,
    replayStream: `TESSERA_${ns}_REPLAY`,
    all: `${base}.durable.>`,
    deadAll: `${base}.dead.>`,
    replayAll: `${base}.replay.>`,
    subject: (unit: string, event: string) => `${base}.durable.${nodeToken(unit)}.${event}`,
    filter: (event: string) => `${base}.durable.*.${event}`,
    deadSubject: (service: string, eventId: string) =>
      `${base}.dead.${nodeToken(service)}.${nodeToken(eventId)}`,
    replaySubject: (service: string, event: string) => `${base}.replay.${nodeToken(service)}.${event}`,
    consumer: (spec: Pick<DurableConsumerSpec, 'service' | 'event' | 'mode' | 'nodeId'>) =>
      spec.mode === 'broadcast'
        ? `${token(spec.service)}--${token(spec.event)}--${token(spec.nodeId)}`
        : `${token(spec.service)}--${token(spec.event)}`,
    /** The consumer of replayed dead letters beside `consumer(spec)`, on the replay stream. */
    replayConsumer: (spec: Pick<DurableConsumerSpec, 'service' | 'event' | 'mode' | 'nodeId'>) =>
      spec.mode === 'broadcast'
        ? `${token(spec.service)}--${token(spec.event)}--${token(spec.nodeId)}--replay`
        : `${token(spec.service)}--${token(spec.event)}--replay`,
  }
}
