/**
 * Batches: every broker message a node sends to one peer within one turn of the event
 * loop (a microtask checkpoint) travels as one NATS message. A batch payload starts with
 * 0xc1, a byte msgpack never uses (so it cannot be mistaken for an envelope), followed by
 * each envelope as a 4-byte big-endian length and its bytes. A turn with a single
 * message to a peer sends the bare envelope, as before.
 *
 * Why: with many calls in flight, the cost of a NATS message is mostly per message, not
 * per byte: a PUB line, a subject match and a MSG line in the server, a parse and a
 * `Msg` in nats.js. One NATS message per peer per turn instead of one per call made
 * remote calls over NATS ~1.3x faster (docs/decisions/0003-nats-subjects.md).
 */
export const BATCH_MARK = 0xc1

/** Envelopes at least this big are published alone (after what is queued for the peer). */
export const BATCH_MAX_ITEM = 64 * 1024

/** What a batch needs of a peer: where it goes, and what is queued for it. */
export interface BatchTarget {
  readonly nodeId: string
  readonly subject: string
  readonly publishOptions: { reply: string }
  /** Envelopes queued this turn, in send order. */
  queued: Uint8Array[]
  /** Their total size as a batch (4-byte length + bytes each). */
  queuedBytes: number
}

/** Builds the payload for what is queued: the bare envelope when it is only one. */
export function batchPayload(queued: Uint8Array[], queuedBytes: number): Uint8Array {
  if (queued.length === 1) return queued[0]!
  const out = Buffer.allocUnsafe(1 + queuedBytes)
  out[0] = BATCH_MARK
  let pos = 1
  for (const bytes of queued) {
    out.writeUInt32BE(bytes.length, pos)
    out.set(bytes, pos + 4)
    pos += 4 + bytes.length
  }
  return out
}

/**
 * Calls `each` with every envelope of a received payload (a batch or a bare envelope) as
 * bytes `start` to `end` of `data`, for `decodeEnvelope(data, start, end)`, which reads
 * them in place (one DataView for the whole NATS message, no view per envelope). Returns
 * false when a batch is truncated or has bytes left over; the envelopes before the damage
 * were delivered.
 */
export function forEachEnvelopeAt(
  data: Uint8Array,
  each: (data: Uint8Array, start: number, end: number) => void,
): boolean {
  if (data[0] !== BATCH_MARK) {
    each(data, 0, data.length)
    return true
  }
  let pos = 1
  while (pos < data.length) {
    if (pos + 4 > data.length) return false
    const len = ((data[pos]! << 24) | (data[pos + 1]! << 16) | (data[pos + 2]! << 8) | data[pos + 3]!) >>> 0
    pos += 4
    if (pos + len > data.length) return false
    each(data, pos, pos + len)
    pos += len
  }
  return true
}
