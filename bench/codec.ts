// Codec microbenchmark: encoding and decoding representative Tessera messages with
// the codec (src/codec/message-codec.ts) beside msgpackr's Packr/Unpackr used directly
// on the same envelope tuple: the ratio is what the codec adds (the tuple, the shape
// check), and the yardstick for any hand-written fast path (see
// docs/decisions/0009-hand-written-msgpack.md). Synchronous loops (an
// `await` per op would cost more than the op), contenders alternated in short rounds,
// best round kept: on a shared 2-core machine outside load then hurts all alike.
import { Packr } from 'msgpackr'
import { decodeEnvelope, type Envelope, encodeEnvelope, toTuple } from '../src/codec/message-codec.ts'
import type { Row } from './lib/report.ts'

const ctx = {
  requestId: 'req-8f14e45f',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  timeout: 5000,
  caller: 'gateway',
}

const items = Array.from({ length: 34 }, (_, i) => ({
  sku: `SKU-${1000 + i}`,
  name: `Item number ${i} with a longer description`,
  qty: (i % 5) + 1,
  price: 9.99 + i,
  tags: ['blue', 'large', 'sale'],
  inStock: i % 3 !== 0,
}))

const messages: Record<string, Envelope> = {
  'request (small)': {
    kind: 'request',
    id: 4711,
    service: 'orders',
    action: 'get',
    ctx,
    input: { id: 'o-1' },
  },
  response: {
    kind: 'response',
    id: 4711,
    ok: true,
    output: { id: 'o-1', status: 'paid', total: 129.5, customer: 'c-17', lines: 3 },
  },
  event: {
    kind: 'event',
    event: 'orders.created',
    groups: ['billing', 'mail'],
    ctx,
    payload: { orderId: 'o-1', total: 129.5, at: '2025-01-01T12:00:00.000Z' },
  },
  'request (~4 KB)': {
    kind: 'request',
    id: 4712,
    service: 'orders',
    action: 'place',
    ctx,
    input: { customer: 'c-17', note: 'Leave at the door', items },
  },
}

// The codec's own msgpackr options (plain msgpack, wire bytes as in docs/protocol.md).
const plain = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  int64AsType: 'auto' as 'bigint',
})
// msgpackr's record extension with structures shared by encoder and decoder: not plain
// msgpack (peers in other languages and a restarted peer could not read it), so a
// reference point only.
const records = new Packr({ useRecords: true, structures: [], mapsAsObjects: true })

let sink = 0

/** Calls `op` in batches until `ms` have passed; returns ops per second. */
function opsPerSec(op: () => unknown, ms: number): number {
  const start = performance.now()
  const end = start + ms
  let count = 0
  let now = start
  do {
    for (let i = 0; i < 256; i++) if (op() === undefined) sink++
    count += 256
    now = performance.now()
  } while (now < end)
  return (count / (now - start)) * 1_000
}

/** Best of `rounds` alternating rounds per contender. */
function best(
  contenders: Record<string, () => unknown>,
  sliceMs: number,
  rounds = 3,
): Record<string, number> {
  const names = Object.keys(contenders)
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]))
  for (const n of names) opsPerSec(contenders[n]!, sliceMs / 2) // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const n of r % 2 === 0 ? names : [...names].reverse()) {
      out[n] = Math.max(out[n]!, opsPerSec(contenders[n]!, sliceMs))
    }
  }
  return out
}

const CODEC_ENC = 'encodeEnvelope (codec)'
const PLAIN_ENC = 'msgpackr pack (codec options)'
const REC_ENC = 'msgpackr pack (records, shared structures)'
const CODEC_DEC = 'decodeEnvelope (codec, with shape check)'
const PLAIN_DEC = 'msgpackr unpack (codec options)'
const REC_DEC = 'msgpackr unpack (records, shared structures)'

/** `ms` is the budget for the whole part (BENCH_MS, default 2000 ms; about 2.5x that in all). */
export function benchCodec(ms: number): Row[] {
  const rows: Row[] = []
  const slice = Math.max(20, ms / 40)
  for (const [label, msg] of Object.entries(messages)) {
    const tuple = toTuple(msg)
    const bytes = encodeEnvelope(msg).slice()
    const recBytes = records.pack(tuple)
    const enc = best(
      {
        [CODEC_ENC]: () => encodeEnvelope(msg),
        [PLAIN_ENC]: () => plain.pack(toTuple(msg)),
        [REC_ENC]: () => records.pack(toTuple(msg)),
      },
      slice,
    )
    const dec = best(
      {
        [CODEC_DEC]: () => decodeEnvelope(bytes),
        [PLAIN_DEC]: () => plain.unpack(bytes),
        [REC_DEC]: () => records.unpack(recBytes),
      },
      slice,
    )
    const group = `codec ${label}, ${bytes.length} B (records ${recBytes.length} B)`
    const unit = 'ops/s'
    rows.push({ group, name: PLAIN_ENC, value: enc[PLAIN_ENC]!, unit })
    rows.push({ group, name: REC_ENC, value: enc[REC_ENC]!, unit, baseline: PLAIN_ENC })
    rows.push({ group, name: CODEC_ENC, value: enc[CODEC_ENC]!, unit, baseline: PLAIN_ENC })
    rows.push({ group, name: PLAIN_DEC, value: dec[PLAIN_DEC]!, unit })
    rows.push({ group, name: REC_DEC, value: dec[REC_DEC]!, unit, baseline: PLAIN_DEC })
    rows.push({ group, name: CODEC_DEC, value: dec[CODEC_DEC]!, unit, baseline: PLAIN_DEC })
  }
  if (sink === -1) console.log(sink)
  return rows
}
