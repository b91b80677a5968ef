import { Packr } from 'msgpackr'
import { decodeEnvelope, type Envelope, encodeEnvelope } from '../codec/index.ts'

const plain = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'bigint' })

/** One message the node under test sent, read without trusting it. */
export interface Received {
  /** The msgpack value as decoded, before any shape check (undefined if not msgpack). */
  raw: unknown
  /** The kind number (first array element), when there is one. */
  kindNo: number | undefined
  /** The message as Tessera's strict decoder reads it, or why it refuses it. */
  env: Envelope | undefined
  invalid: string | undefined
  /** ms since the epoch when it arrived. */
  at: number
}

/** Reads one body: raw first (so a malformed message is still seen), then strictly. */
export function readBody(body: Uint8Array): Received {
  let raw: unknown
  try {
    raw = plain.unpack(body)
  } catch {
    raw = undefined
  }
  const kindNo = Array.isArray(raw) && typeof raw[0] === 'number' ? raw[0] : undefined
  try {
    return { raw, kindNo, env: decodeEnvelope(body), invalid: undefined, at: Date.now() }
  } catch (err) {
    return { raw, kindNo, env: undefined, invalid: (err as Error).message, at: Date.now() }
  }
}

/** A length-prefixed frame (docs/protocol.md §2) holding `env`. */
export function frameOf(env: Envelope): Buffer {
  return framed(encodeEnvelope(env))
}

/** A length-prefixed frame around any bytes (to send malformed bodies on purpose). */
export function framed(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length)
  out.writeUInt32BE(body.length, 0)
  out.set(body, 4)
  return out
}

/** The msgpack bytes of any value, without Tessera's shape (to build invalid messages). */
export function packRaw(value: unknown): Uint8Array {
  return plain.pack(value)
}

/** The kind names of docs/protocol.md §3, for failure details. */
export const KIND_NAMES: Record<number, string> = {
  1: 'REQUEST',
  2: 'RESPONSE_OK',
  3: 'RESPONSE_ERROR',
  4: 'EVENT',
  5: 'CANCEL',
  16: 'HELLO',
  17: 'ANNOUNCE',
  18: 'BYE',
  19: 'PING',
  20: 'PONG',
  21: 'PROOF',
}

export function kindName(r: Received): string {
  return r.kindNo === undefined ? 'an undecodable body' : (KIND_NAMES[r.kindNo] ?? `kind ${r.kindNo}`)
}
