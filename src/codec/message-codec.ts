import { Packr } from 'msgpackr'
import { TesseraError, type WireError } from '../errors/index.ts'
import type { Message, NodeInfo, RequestMessage, WireContext } from '../wire/index.ts'

/**
 * Message kinds on the wire. Each message is one msgpack array whose first element
 * is the kind (see docs/protocol.md). 1–15 are broker messages shared by every
 * transport; 16 and up are transport control messages.
 */
export const Kind = {
  REQUEST: 1,
  RESPONSE_OK: 2,
  RESPONSE_ERROR: 3,
  EVENT: 4,
  CANCEL: 5,
  HELLO: 16,
  ANNOUNCE: 17,
  BYE: 18,
  PING: 19,
  PONG: 20,
  PROOF: 21,
} as const

/** Transport control messages carried in the same envelope as broker messages. */
/** What a node that holds a credential adds to its HELLO (docs/protocol.md, "Identity"). */
export interface HelloAuth {
  certificate: string
  /**
   * The nonce the peer must sign in its PROOF. Over NATS it is sent too, so a HELLO has
   * one form on every transport, but unused: there is no per-connection proof there, the
   * server's permissions vouch for the sender (decision 0014).
   */
  nonce: string
}

/** What a node that holds a credential adds to its ANNOUNCE over NATS (decision 0014). */
export interface AnnounceAuth {
  certificate: string
}

export type ControlMessage =
  | { kind: 'hello'; info: NodeInfo; auth?: HelloAuth }
  | { kind: 'proof'; proof: string }
  | { kind: 'announce'; info: NodeInfo; auth?: AnnounceAuth }
  | { kind: 'bye'; nodeId: string }
  | { kind: 'ping'; n: number }
  | { kind: 'pong'; n: number }

export type Envelope = Message | ControlMessage

// Plain msgpack (no records, no extensions) so peers in other languages can decode it.
// 'auto' (missing from msgpackr's typings) decodes a uint64/int64 that fits in 2^53 as a
// number, so peers whose encoders always use 64-bit integers interoperate; larger ones
// stay bigint (and are rejected where an id is expected).
const options = {
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  int64AsType: 'auto' as 'bigint',
}
const packr = new Packr(options)
let packing = false
let nested = false

export function encodeEnvelope(msg: Envelope): Uint8Array {
  try {
    if (packing) {
      // A getter in the payload being packed encodes a message of its own. Its bytes come
      // out whole, but msgpackr's pack is not re-entrant: the outer message is redone below.
      nested = true
      return packr.pack(toTuple(msg))
    }
    packing = true
    nested = false
    let bytes: Uint8Array | undefined
    let failure: unknown
    try {
      bytes = packr.pack(toTuple(msg))
    } catch (err) {
      failure = err
    } finally {
      packing = false
    }
    if (nested) return packr.pack(plainCopy(toTuple(msg)))
    if (bytes === undefined) throw failure
    return bytes
  } catch (err) {
    throw new TesseraError('BAD_REQUEST', `message cannot be encoded: ${errorText(err)}`, undefined, {
      cause: err,
    })
  }
}

/** Plain objects and arrays copied (their getters run here, not inside msgpackr); other values as they are. */
function plainCopy(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v
  const ctor = v.constructor
  if (ctor === Array) return (v as unknown[]).map(plainCopy)
  if (ctor !== Object) return v
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(v)) {
    const value = plainCopy((v as Record<string, unknown>)[key])
    if (key === '__proto__')
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
    else out[key] = value
  }
  return out
}

/** The msgpack array a message is sent as (docs/protocol.md); exported for the codec bench. */
export function toTuple(m: Envelope): unknown[] {
  switch (m.kind) {
    case 'request':
      // The 7th element only when set: a plain request keeps the 6-element form older peers read.
      return m.once === undefined
        ? [Kind.REQUEST, m.id, m.service, m.action, m.ctx, m.input]
        : [Kind.REQUEST, m.id, m.service, m.action, m.ctx, m.input, m.once]
    case 'response':
      return m.ok ? [Kind.RESPONSE_OK, m.id, m.output] : [Kind.RESPONSE_ERROR, m.id, m.error]
    case 'event':
      return [Kind.EVENT, m.event, m.groups, m.ctx, m.payload]
    case 'cancel':
      return [Kind.CANCEL, m.id]
    case 'hello':
      return m.auth ? [Kind.HELLO, m.info, m.auth] : [Kind.HELLO, m.info]
    case 'proof':
      return [Kind.PROOF, m.proof]
    case 'announce':
      return m.auth ? [Kind.ANNOUNCE, m.info, m.auth] : [Kind.ANNOUNCE, m.info]
    case 'bye':
      return [Kind.BYE, m.nodeId]
    case 'ping':
      return [Kind.PING, m.n]
    case 'pong':
      return [Kind.PONG, m.n]
  }
}

function malformed(why: string): TesseraError {
  return new TesseraError('BAD_REQUEST', `malformed message: ${why}`)
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : describeValue(err)
}

/**
 * A short description of any decoded value for an error message. Never throws: no
 * `JSON.stringify` (it throws on a bigint) and no string conversion of objects (one
 * without a prototype has no `toString`). Bigints get an `n`; nesting and length are cut.
 */
function describeValue(v: unknown, depth = 0): string {
  switch (typeof v) {
    case 'bigint':
      return `${v}n`
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v)
    case 'string':
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
    case 'boolean':
    case 'undefined':
      return String(v)
    case 'symbol':
      return 'a symbol'
    case 'function':
      return 'a function'
  }
  if (v === null) return 'null'
  if (ArrayBuffer.isView(v)) return `${v.byteLength} bytes`
  if (depth >= 2) return Array.isArray(v) ? '[…]' : '{…}'
  if (Array.isArray(v)) {
    const items = v.slice(0, 4).map((x) => describeValue(x, depth + 1))
    return `[${items.join(', ')}${v.length > 4 ? ', …' : ''}]`
  }
  if (v instanceof Map || v instanceof Set || v instanceof Date || v instanceof Error)
    return `a ${v.constructor.name}`
  const keys = Object.keys(v as object)
  const entries = keys
    .slice(0, 4)
    .map((k) => `${JSON.stringify(k)}: ${describeValue((v as Record<string, unknown>)[k], depth + 1)}`)
  return `{${entries.join(', ')}${keys.length > 4 ? ', …' : ''}}`
}

/** The range handed to msgpackr for a message inside a larger buffer; read at once, so one serves all. */
const RANGE = { start: 0, end: 0 }

/**
 * Decodes and shape-checks one message from an untrusted peer: all of `bytes`, or bytes
 * `start` to `end` of it (a frame inside a socket chunk: msgpackr reads the range in place
 * and keeps one DataView per chunk, where a view per frame would cost a view and a DataView
 * each). Never returns something half-valid: any deviation throws BAD_REQUEST saying what
 * was wrong, and the transport closes that connection.
 */
export function decodeEnvelope(bytes: Uint8Array, start = 0, end = bytes.length): Envelope {
  let raw: unknown
  try {
    if (start === 0 && end === bytes.length) raw = packr.unpack(bytes)
    else if (end > start) {
      RANGE.start = start
      RANGE.end = end
      raw = packr.unpack(bytes, RANGE)
    } else raw = packr.unpack(bytes.subarray(start, end)) // empty: fails as an empty body does
  } catch (err) {
    throw malformed(`not msgpack (${errorText(err)})`)
  }
  if (!Array.isArray(raw) || raw.length === 0) throw malformed('expected a non-empty array')
  const kind = raw[0]
  switch (kind) {
    case Kind.REQUEST: {
      if (raw.length !== 7) arity(raw, 6)
      const request: RequestMessage = {
        kind: 'request',
        id: id(raw[1]),
        service: str(raw[2], 'service'),
        action: str(raw[3], 'action'),
        ctx: wireContext(raw[4]),
        input: raw[5],
      }
      if (raw.length === 7) request.once = onceFlag(raw[6])
      return request
    }
    case Kind.RESPONSE_OK:
      arity(raw, 3)
      return { kind: 'response', id: id(raw[1]), ok: true, output: raw[2] }
    case Kind.RESPONSE_ERROR:
      arity(raw, 3)
      return { kind: 'response', id: id(raw[1]), ok: false, error: wireError(raw[2]) }
    case Kind.EVENT:
      arity(raw, 5)
      return {
        kind: 'event',
        event: str(raw[1], 'event'),
        groups: strArray(raw[2], 'groups'),
        ctx: wireContext(raw[3]),
        payload: raw[4],
      }
    case Kind.CANCEL:
      arity(raw, 2)
      return { kind: 'cancel', id: id(raw[1]) }
    case Kind.HELLO: {
      if (raw.length !== 2 && raw.length !== 3) arity(raw, 2)
      const info = nodeInfo(raw[1])
      return raw.length === 3 ? { kind: 'hello', info, auth: helloAuth(raw[2]) } : { kind: 'hello', info }
    }
    case Kind.PROOF:
      arity(raw, 2)
      return { kind: 'proof', proof: str(raw[1], 'proof') }
    case Kind.ANNOUNCE: {
      if (raw.length !== 2 && raw.length !== 3) arity(raw, 2)
      const info = nodeInfo(raw[1])
      return raw.length === 3
        ? { kind: 'announce', info, auth: announceAuth(raw[2]) }
        : { kind: 'announce', info }
    }
    case Kind.BYE:
      arity(raw, 2)
      return { kind: 'bye', nodeId: str(raw[1], 'nodeId') }
    case Kind.PING:
    case Kind.PONG:
      arity(raw, 2)
      return { kind: kind === Kind.PING ? 'ping' : 'pong', n: num(raw[1], 'n') }
    default:
      throw malformed(`unknown kind ${describeValue(kind)}`)
  }
}

function arity(raw: unknown[], n: number): void {
  if (raw.length !== n)
    throw malformed(`kind ${describeValue(raw[0])} needs ${n} elements, got ${raw.length}`)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function id(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw malformed('id must be a non-negative integer')
  return v
}

function onceFlag(v: unknown): 1 | 2 {
  if (v !== 1 && v !== 2) throw malformed('once must be 1 (keep the outcome) or 2 (a resend)')
  return v
}

function num(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw malformed(`${field} must be a number`)
  return v
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw malformed(`${field} must be a string`)
  return v
}

function strArray(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw malformed(`${field} must be strings`)
  return v
}

function stringRecord(v: unknown, field: string): Record<string, string> {
  if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw malformed(`${field} must map strings to strings`)
  }
  return v as Record<string, string>
}

function wireContext(v: unknown): WireContext {
  if (!isObject(v)) throw malformed('ctx must be a map')
  const ctx: WireContext = {
    requestId: str(v.requestId, 'ctx.requestId'),
    traceparent: str(v.traceparent, 'ctx.traceparent'),
    timeout: num(v.timeout, 'ctx.timeout'),
  }
  if (v.tracestate !== undefined) ctx.tracestate = str(v.tracestate, 'ctx.tracestate')
  if (v.caller !== undefined) ctx.caller = str(v.caller, 'ctx.caller')
  if (v.meta !== undefined) ctx.meta = stringRecord(v.meta, 'ctx.meta')
  if (v.principalProof !== undefined) ctx.principalProof = str(v.principalProof, 'ctx.principalProof')
  if (v.principal !== undefined) {
    const p = v.principal
    if (!isObject(p)) throw malformed('ctx.principal must be a map')
    const principal: NonNullable<WireContext['principal']> = { id: str(p.id, 'ctx.principal.id') }
    if (p.roles !== undefined) principal.roles = strArray(p.roles, 'ctx.principal.roles')
    if (p.claims !== undefined) {
      if (!isObject(p.claims)) throw malformed('ctx.principal.claims must be a map')
      principal.claims = p.claims
    }
    ctx.principal = principal
  }
  return ctx
}

function helloAuth(v: unknown): HelloAuth {
  if (!isObject(v)) throw malformed('hello auth must be a map')
  return { certificate: str(v.certificate, 'auth.certificate'), nonce: str(v.nonce, 'auth.nonce') }
}

function announceAuth(v: unknown): AnnounceAuth {
  if (!isObject(v)) throw malformed('announce auth must be a map')
  return { certificate: str(v.certificate, 'auth.certificate') }
}

function wireError(v: unknown): WireError {
  if (!isObject(v)) throw malformed('error must be a map')
  const err = TesseraError.fromWire({
    code: str(v.code, 'error.code') as WireError['code'],
    message: str(v.message, 'error.message'),
    ...(v.data === undefined ? {} : isObject(v.data) ? { data: v.data } : { data: { value: v.data } }),
    ...(typeof v.stack === 'string' ? { stack: v.stack } : {}),
  })
  return err.toWire(typeof v.stack === 'string')
}

function nodeInfo(v: unknown): NodeInfo {
  if (!isObject(v)) throw malformed('node info must be a map')
  if (!Array.isArray(v.services)) throw malformed('node info services must be an array')
  for (const s of v.services) {
    if (!isObject(s) || typeof s.name !== 'string' || typeof s.version !== 'string') {
      throw malformed('each service needs a name and a version')
    }
    if (!isObject(s.actions) || !isObject(s.subscriptions))
      throw malformed(`service ${s.name}: actions and subscriptions must be maps`)
    for (const a of Object.values(s.actions)) {
      if (!isObject(a) || typeof a.idempotent !== 'boolean')
        throw malformed(`service ${s.name}: bad action info`)
    }
    for (const mode of Object.values(s.subscriptions)) {
      if (mode !== 'balanced' && mode !== 'broadcast')
        throw malformed(`service ${s.name}: bad subscription mode`)
    }
  }
  const info: NodeInfo = {
    nodeId: str(v.nodeId, 'nodeId'),
    seq: num(v.seq, 'seq'),
    services: v.services as NodeInfo['services'],
  }
  if (v.meta !== undefined) {
    if (!isObject(v.meta)) throw malformed('node meta must be a map')
    info.meta = v.meta as NodeInfo['meta'] & object
  }
  return info
}
