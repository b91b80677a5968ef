import { randomFillSync } from 'node:crypto'

/**
 * W3C trace context of one call (https://www.w3.org/TR/trace-context/).
 * `spanId` names this call; the callee starts its own span whose parent is it.
 */
export interface TraceContext {
  traceId: string
  spanId: string
  /** trace-flags; bit 0 = sampled. */
  flags: number
  /** The vendor `tracestate` header, carried through untouched. */
  state?: string
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)
const HEX_DIGITS = '0123456789abcdef'

// Random ids are cut from a pooled hex string: one crypto fill and one conversion per
// ~1 000 traces instead of per call (a slice of a string costs next to nothing). Node's
// own hex encoder is the slow part (~3 ns a byte), so bytes become hex through a table
// of digit pairs and one latin1 decode, in buffers made once.
const POOL_BYTES = 16_384
const raw = Buffer.allocUnsafeSlow(POOL_BYTES)
const digitPairs = new Uint16Array(POOL_BYTES)
const digits = Buffer.from(digitPairs.buffer, digitPairs.byteOffset, digitPairs.byteLength)
/** Byte -> its two hex digits as one Uint16Array element (in the machine's byte order). */
const HEX_PAIR = (() => {
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
  const table = new Uint16Array(256)
  for (let b = 0; b < 256; b++) {
    const hi = HEX_DIGITS.charCodeAt(b >> 4)
    const lo = HEX_DIGITS.charCodeAt(b & 15)
    table[b] = littleEndian ? hi | (lo << 8) : (hi << 8) | lo
  }
  return table
})()
let pool = ''
let poolOffset = 0

/** `bytes` random bytes as fresh hex (`randomBytes(bytes).toString('hex')`, from the pool). */
export function randomHex(bytes: number): string {
  const chars = bytes * 2
  if (poolOffset + chars > pool.length) {
    randomFillSync(raw)
    for (let i = 0; i < POOL_BYTES; i++) digitPairs[i] = HEX_PAIR[raw[i] as number] as number
    pool = digits.toString('latin1', 0, POOL_BYTES * 2)
    poolOffset = 0
  }
  const hex = pool.slice(poolOffset, poolOffset + chars)
  poolOffset += chars
  return hex
}

/** A new trace: random ids, sampled unless `flags` says otherwise. */
export function newTrace(flags = 1): TraceContext {
  return { traceId: randomHex(16), spanId: randomHex(8), flags }
}

/** A random 16-byte trace id (32 hex digits). */
export function newTraceId(): string {
  return randomHex(16)
}

/** A random 8-byte span id (16 hex digits). */
export function newSpanId(): string {
  return randomHex(8)
}

/** A child span of `parent`: same trace, new span id. */
export function childSpan(parent: TraceContext): TraceContext {
  const child: TraceContext = { traceId: parent.traceId, spanId: randomHex(8), flags: parent.flags }
  if (parent.state !== undefined) child.state = parent.state
  return child
}

export function formatTraceparent(trace: TraceContext): string {
  const flags = trace.flags
  // Every remote call formats one: the two flags Tessera sets need no number formatting.
  const hex = flags === 1 ? '01' : flags === 0 ? '00' : flags.toString(16).padStart(2, '0')
  return `00-${trace.traceId}-${trace.spanId}-${hex}`
}

/** Parses a `traceparent` header; anything malformed or all-zero yields undefined (start a new trace). */
export function parseTraceparent(header: string | undefined, state?: string): TraceContext | undefined {
  if (!header) return undefined
  // Every hop parses one: the well-formed lower-case header (what Tessera sends) is
  // checked character by character, anything else goes through trim, lower-case and regex.
  if (isCanonical(header)) {
    const traceId = header.slice(3, 35)
    const spanId = header.slice(36, 52)
    if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined
    const trace: TraceContext = { traceId, spanId, flags: hexValue(header, 53) * 16 + hexValue(header, 54) }
    if (state) trace.state = state
    return trace
  }
  const m = TRACEPARENT.exec(header.trim().toLowerCase())
  if (!m || m[1] === ZERO_TRACE || m[2] === ZERO_SPAN) return undefined
  const trace: TraceContext = { traceId: m[1]!, spanId: m[2]!, flags: Number.parseInt(m[3]!, 16) }
  if (state) trace.state = state
  return trace
}

/** Char code (below 128) -> its value as a lower-case hex digit, -1 for any other. */
const HEX_VALUE = (() => {
  const table = new Int8Array(128).fill(-1)
  for (let i = 0; i < 16; i++) table[HEX_DIGITS.charCodeAt(i)] = i
  return table
})()

/**
 * `00-<32 hex>-<16 hex>-<2 hex>`, lower case, nothing around it. The digits are checked
 * through a table, OR-ed together so the loop has no branch: a non-digit below 128 makes
 * the result negative, a char of 128 or more makes it 128 or more.
 */
function isCanonical(h: string): boolean {
  if (h.length !== 55 || h.charCodeAt(0) !== 48 || h.charCodeAt(1) !== 48) return false
  if (h.charCodeAt(2) !== 45 || h.charCodeAt(35) !== 45 || h.charCodeAt(52) !== 45) return false
  let seen = 0
  for (let i = 3; i < 55; i++) {
    if (i === 35 || i === 52) continue
    const c = h.charCodeAt(i)
    seen |= (HEX_VALUE[c & 127] as number) | (c & ~127)
  }
  return seen >= 0 && seen < 128
}

/** The value of the lower-case hex digit at `i` (the header is canonical). */
function hexValue(h: string, i: number): number {
  return HEX_VALUE[h.charCodeAt(i) & 127] as number
}
