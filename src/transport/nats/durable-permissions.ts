import { durableNames } from './durable-names.ts'
import { nodeToken } from './subjects.ts'

/**
 * The unit whose login may replay and discard dead letters: the runtime's supervisor
 * (`SUPERVISOR_UNIT`, a name no unit of a config may take).
 */
export const OPERATOR_UNIT = 'supervisor'

/**
 * The inbox prefix of a unit's connections: JetStream replies (acks of stored events,
 * pulled deliveries) come back under it, so a unit subscribes to its own replies only.
 */
export function durableInboxPrefix(namespace: string, unit: string): string {
  return `_INBOX_${namespace}_${nodeToken(unit)}`.replace(/[^A-Za-z0-9_-]/g, '_')
}

/**
 * What durable events add to a unit's NATS permissions (decision 0024): publish its
 * own durable subject (the unit in the sender position) and dead letters, the
 * JetStream API calls on this system's two streams only (stream create and info,
 * consumer create, info and pull, acks, reading dead letters), and its own inbox; the
 * operator (OPERATOR_UNIT) may also replay and discard dead letters.
 * Known limit: any unit of the system may create a consumer on the events stream, so
 * it can read every durable event of its system (not publish as another unit).
 */
export function durablePermissions(
  namespace: string,
  unit: string,
): { publish: string[]; subscribe: string[] } {
  const n = durableNames(namespace)
  const api = '$JS.API'
  const streams = [n.stream, n.deadStream, n.replayStream]
  const consumed = [n.stream, n.replayStream]
  return {
    publish: [
      `${n.subject(unit, '>')}`,
      n.deadAll,
      `${api}.INFO`,
      ...streams.flatMap((s) => [`${api}.STREAM.INFO.${s}`, `${api}.STREAM.CREATE.${s}`]),
      `${api}.STREAM.MSG.GET.${n.deadStream}`,
      ...consumed.flatMap((s) => [
        `${api}.CONSUMER.CREATE.${s}.>`,
        `${api}.CONSUMER.DURABLE.CREATE.${s}.>`,
        `${api}.CONSUMER.INFO.${s}.>`,
        `${api}.CONSUMER.MSG.NEXT.${s}.>`,
        `$JS.ACK.${s}.>`,
      ]),
      // Replaying and discarding dead letters is the operator's (decision 0027): a replay
      // is delivered as its emitter's event, so no service unit may publish one.
      ...(unit === OPERATOR_UNIT ? [n.replayAll, `${api}.STREAM.MSG.DELETE.${n.deadStream}`] : []),
    ],
    subscribe: [`${durableInboxPrefix(namespace, unit)}.>`],
  }
}
