import { type DeadEvent, type DurableConsumerSpec, type DurableEnvelope, deadKey } from '../../durable.ts'

/** A dead letter as the store keeps and answers it. */
export type StoredDead = DeadEvent

/** `${service}:${eventId}`, the key of a dead letter. */
export const deadKeyOf = deadKey

/** The consumer a subscription reads: one per (service, event) when balanced, per instance when broadcast. */
export function consumerKey(
  spec: Pick<DurableConsumerSpec, 'service' | 'event' | 'mode' | 'nodeId'>,
): string {
  return spec.mode === 'broadcast'
    ? `${spec.service}|${spec.event}|${spec.nodeId}`
    : `${spec.service}|${spec.event}`
}

/**
 * The records of the store's log (record-log.ts), one JSON object each:
 * - `e`: an event stored at sequence `s`; `to` names the one subscribing service a replay
 *   is for (every other service's consumers skip it), `replayOf` the dead letter it replays
 *   (removed as the record is applied);
 * - `c`: a consumer created, having done every sequence up to `floor`;
 * - `cx`: a broadcast consumer removed (its instance gone for a minute);
 * - `a`: sequence `s` acked by consumer `k`;
 * - `d`: sequence `s` dead-lettered by consumer `k` (done for it), with the letter;
 * - `n`: delivery `n` of sequence `s` made by consumer `k` (written without an fsync: a
 *   crash may lose the last ones, so a count after a restart is at most a few short);
 * - `x`: a dead letter discarded.
 * Applying any of them twice is the same as once, which snapshots rely on.
 */
export type LogRecord =
  | { t: 'e'; s: number; at: number; env: DurableEnvelope; to?: string; replayOf?: string }
  | {
      t: 'c'
      k: string
      service: string
      event: string
      mode: 'balanced' | 'broadcast'
      node?: string
      floor: number
    }
  | { t: 'cx'; k: string }
  | { t: 'a'; k: string; s: number }
  | { t: 'n'; k: string; s: number; n: number }
  | { t: 'd'; k: string; s: number; dead: StoredDead }
  | { t: 'x'; key: string }

/** What a snapshot file holds: the state of everything but the events, as of log position `pos`. */
export interface Snapshot {
  pos: { segment: number; offset: number }
  nextSeq: number
  consumers: {
    k: string
    service: string
    event: string
    mode: 'balanced' | 'broadcast'
    node?: string
    floor: number
    done: number[]
    /** Deliveries made of sequences not done yet, `[seq, n]` (absent in snapshots of older stores). */
    delivered?: [number, number][]
  }[]
  dead: StoredDead[]
  /** Event ids of the dedup window with the time each was stored. */
  ids: [string, number][]
}
