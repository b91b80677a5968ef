/**
 * A small msgpack writer and reader for the values that make up almost every message
 * (plain objects, arrays, strings, numbers, booleans, null), byte-for-byte and
 * value-for-value identical to what the codec's msgpackr instance produces for them
 * (`useRecords: false`, `variableMapSize: true`). Anything else (undefined, bigint,
 * Map, Date, binary, extensions, 64-bit integers, float32, non-string map keys,
 * malformed or truncated bytes, very deep nesting) throws `UNSUPPORTED`, and the
 * caller redoes the whole message with msgpackr: so results and errors for unusual
 * or hostile input are exactly msgpackr's, and only the common case is fast.
 *
 * Why: msgpackr's per-call set-up (state save, a DataView per source buffer, string
 * extraction, output buffer bookkeeping) dominates for small messages.
 */

/** Thrown (never escapes the codec) when a value or byte sequence needs the generic path. */
export const UNSUPPORTED: unique symbol = Symbol('unsupported by the fast msgpack path')

const MAX_DEPTH = 64
const CHUNK = 64 * 1024

// Buffer's own UTF-8 codec entry points (msgpackr uses them too); not in @types/node.
const utf8Write = (Buffer.prototype as unknown as { utf8Write(s: string, offset: number): number }).utf8Write
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice(start: number, end: number): string }).utf8Slice

/** Strings up to this many bytes go through the cache. */
const KEY_MAX = 24
const KEY_SLOTS = 4096
const keyCache: Array<{ bytes: Uint8Array; text: string } | undefined> = new Array(KEY_SLOTS)

const f64 = new Float64Array(1)
const f64Bytes = new Uint8Array(f64.buffer)
const f32 = new Float32Array(1)
const f32Bytes = new Uint8Array(f32.buffer)
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/**
 * Writes msgpack into a shared chunk and hands out views of it. A view stays valid
 * for good: the writer only ever writes past the views it handed out, and starts a
 * new chunk when one is full.
 */
export class FastWriter {
  buf: Buffer = Buffer.allocUnsafe(CHUNK)
  pos = 0
  start = 0

  /** Starts a message; `finish()` returns its bytes, `abort()` drops it. */
  begin(): void {
    if (this.buf.length - this.pos < 1024) this.#replace(1024)
    this.start = this.pos
  }

  finish(): Buffer {
    return this.buf.subarray(this.start, this.pos)
  }

  abort(): void {
    this.pos = this.start
  }

  /** Makes room for `n` more bytes, moving the message begun so far to a new chunk if needed. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.#replace(n)
  }

  #replace(n: number): void {
    const used = this.pos - this.start
    const next = Buffer.allocUnsafe(Math.max(CHUNK, (used + n) * 2))
    this.buf.copy(next, 0, this.start, this.pos)
    this.buf = next
    this.start = 0
    this.pos = used
  }

  arrayHeader(length: number): void {
    this.ensure(5)
    const buf = this.buf
    if (length < 0x10) buf[this.pos++] = 0x90 | length
    else if (length < 0x10000) {
      buf[this.pos++] = 0xdc
      buf[this.pos++] = length >> 8
      buf[this.pos++] = length & 0xff
    } else {
      buf[this.pos++] = 0xdd
      buf.writeUInt32BE(length, this.pos)
      this.pos += 4
    }
  }

  mapHeader(length: number): void {
    this.ensure(5)
    const buf = this.buf
    if (length < 0x10) buf[this.pos++] = 0x80 | length
    else if (length < 0x10000) {
      buf[this.pos++] = 0xde
      buf[this.pos++] = length >> 8
      buf[this.pos++] = length & 0xff
    } else {
      buf[this.pos++] = 0xdf
      buf.writeUInt32BE(length, this.pos)
      this.pos += 4
    }
  }

  string(value: string): void {
    const strLength = value.length
    const headerSize = strLength < 0x20 ? 1 : strLength < 0x100 ? 2 : strLength < 0x10000 ? 3 : 5
    this.ensure(headerSize + strLength * 3)
    const buf = this.buf
    let pos = this.pos
    let length: number
    if (strLength < 16) {
      let p = pos + headerSize
      for (let i = 0; i < strLength; i++) {
        let c1 = value.charCodeAt(i)
        const c2 = (c1 & 0xfc00) === 0xd800 ? value.charCodeAt(i + 1) : 0
        if (c1 < 0x80) buf[p++] = c1
        else if (c1 < 0x800) {
          buf[p++] = (c1 >> 6) | 0xc0
          buf[p++] = (c1 & 0x3f) | 0x80
        } else if ((c1 & 0xfc00) === 0xd800 && (c2 & 0xfc00) === 0xdc00) {
          c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (c2 & 0x03ff)
          i++
          buf[p++] = (c1 >> 18) | 0xf0
          buf[p++] = ((c1 >> 12) & 0x3f) | 0x80
          buf[p++] = ((c1 >> 6) & 0x3f) | 0x80
          buf[p++] = (c1 & 0x3f) | 0x80
        } else {
          buf[p++] = (c1 >> 12) | 0xe0
          buf[p++] = ((c1 >> 6) & 0x3f) | 0x80
          buf[p++] = (c1 & 0x3f) | 0x80
        }
      }
      length = p - pos - headerSize
    } else {
      length = utf8Write.call(buf, value, pos + headerSize)
    }
    // The header size was guessed from the UTF-16 length; move the bytes when the real one differs.
    if (length < 0x20) {
      if (headerSize > 1) buf.copyWithin(pos + 1, pos + headerSize, pos + headerSize + length)
      buf[pos++] = 0xa0 | length
    } else if (length < 0x100) {
      if (headerSize !== 2) buf.copyWithin(pos + 2, pos + headerSize, pos + headerSize + length)
      buf[pos++] = 0xd9
      buf[pos++] = length
    } else if (length < 0x10000) {
      if (headerSize !== 3) buf.copyWithin(pos + 3, pos + headerSize, pos + headerSize + length)
      buf[pos++] = 0xda
      buf[pos++] = length >> 8
      buf[pos++] = length & 0xff
    } else {
      if (headerSize !== 5) buf.copyWithin(pos + 5, pos + headerSize, pos + headerSize + length)
      buf[pos++] = 0xdb
      buf.writeUInt32BE(length, pos)
      pos += 4
    }
    this.pos = pos + length
  }

  number(value: number): void {
    this.ensure(9)
    const buf = this.buf
    if (value >>> 0 === value) {
      if (value < 0x80) buf[this.pos++] = value
      else if (value < 0x100) {
        buf[this.pos++] = 0xcc
        buf[this.pos++] = value
      } else if (value < 0x10000) {
        buf[this.pos++] = 0xcd
        buf[this.pos++] = value >> 8
        buf[this.pos++] = value & 0xff
      } else {
        buf[this.pos++] = 0xce
        buf.writeUInt32BE(value, this.pos)
        this.pos += 4
      }
    } else if (value >> 0 === value) {
      if (value >= -0x20) buf[this.pos++] = 0x100 + value
      else if (value >= -0x80) {
        buf[this.pos++] = 0xd0
        buf[this.pos++] = value + 0x100
      } else if (value >= -0x8000) {
        buf[this.pos++] = 0xd1
        buf.writeInt16BE(value, this.pos)
        this.pos += 2
      } else {
        buf[this.pos++] = 0xd2
        buf.writeInt32BE(value, this.pos)
        this.pos += 4
      }
    } else {
      buf[this.pos++] = 0xcb
      buf.writeDoubleBE(value, this.pos)
      this.pos += 8
    }
  }

  /** Any value; throws UNSUPPORTED for what only msgpackr knows how to write. */
  value(value: unknown, depth = 0): void {
    switch (typeof value) {
      case 'string':
        this.string(value)
        return
      case 'number':
        this.number(value)
        return
      case 'boolean':
        this.ensure(1)
        this.buf[this.pos++] = value ? 0xc3 : 0xc2
        return
      case 'object': {
        if (value === null) {
          this.ensure(1)
          this.buf[this.pos++] = 0xc0
          return
        }
        if (depth >= MAX_DEPTH) throw UNSUPPORTED
        const ctor = (value as object).constructor
        if (ctor === Object) {
          const obj = value as Record<string, unknown>
          const keys = Object.keys(obj)
          this.mapHeader(keys.length)
          for (let i = 0; i < keys.length; i++) {
            const key = keys[i]!
            this.string(key)
            this.value(obj[key], depth + 1)
          }
          return
        }
        if (ctor === Array) {
          const arr = value as unknown[]
          this.arrayHeader(arr.length)
          for (let i = 0; i < arr.length; i++) this.value(arr[i], depth + 1)
          return
        }
        throw UNSUPPORTED
      }
      default:
        throw UNSUPPORTED
    }
  }
}

/**
 * Reads msgpack from one message. Every read checks bounds; anything outside the
 * supported subset, or malformed, throws UNSUPPORTED.
 */
export class FastReader {
  src: Uint8Array = new Uint8Array(0)
  pos = 0
  end = 0

  reset(src: Uint8Array): void {
    this.src = src
    this.pos = 0
    this.end = src.length
  }

  #byte(): number {
    if (this.pos >= this.end) throw UNSUPPORTED
    return this.src[this.pos++]!
  }

  #need(n: number): void {
    if (this.pos + n > this.end) throw UNSUPPORTED
  }

  #u16(): number {
    this.#need(2)
    const s = this.src
    const p = this.pos
    this.pos = p + 2
    return (s[p]! << 8) | s[p + 1]!
  }

  #u32(): number {
    this.#need(4)
    const s = this.src
    const p = this.pos
    this.pos = p + 4
    return s[p]! * 0x1000000 + ((s[p + 1]! << 16) | (s[p + 2]! << 8) | s[p + 3]!)
  }

  /** Length of an array at the current position, or UNSUPPORTED if it is something else. */
  arrayHeader(): number {
    const t = this.#byte()
    if (t >= 0x90 && t <= 0x9f) return t - 0x90
    if (t === 0xdc) return this.#u16()
    if (t === 0xdd) return this.#u32()
    throw UNSUPPORTED
  }

  /** A string at the current position, or UNSUPPORTED. */
  string(): string {
    const t = this.#byte()
    let len: number
    if (t >= 0xa0 && t <= 0xbf) len = t - 0xa0
    else if (t === 0xd9) len = this.#byte()
    else if (t === 0xda) len = this.#u16()
    else if (t === 0xdb) len = this.#u32()
    else throw UNSUPPORTED
    return this.#str(len)
  }

  #str(len: number): string {
    this.#need(len)
    const start = this.pos
    this.pos = start + len
    return len <= KEY_MAX ? this.#short(start, len) : utf8Slice.call(this.src, start, start + len)
  }

  /**
   * Short strings (map keys, names, enum-like values) come from a small cache keyed by
   * their bytes: a hit costs a byte comparison and returns an internalized string,
   * which also keeps the objects built from those keys on V8's fast path.
   */
  #short(start: number, len: number): string {
    if (len === 0) return ''
    const s = this.src
    const end = start + len
    let h = len
    for (let i = start; i < end; i++) h = (h * 31 + s[i]!) | 0
    const slot = (h ^ (h >>> 12)) & (KEY_SLOTS - 1)
    const hit = keyCache[slot]
    if (hit !== undefined && hit.bytes.length === len) {
      const b = hit.bytes
      let i = 0
      while (i < len && b[i] === s[start + i]) i++
      if (i === len) return hit.text
    }
    const text = utf8Slice.call(s, start, end)
    keyCache[slot] = { bytes: s.slice(start, end), text }
    return text
  }

  value(depth = 0): unknown {
    const t = this.#byte()
    if (t < 0x80) return t
    if (t < 0x90) return this.#map(t - 0x80, depth)
    if (t < 0xa0) return this.#array(t - 0x90, depth)
    if (t < 0xc0) return this.#str(t - 0xa0)
    if (t >= 0xe0) return t - 0x100
    const s = this.src
    switch (t) {
      case 0xc0:
        return null
      case 0xc2:
        return false
      case 0xc3:
        return true
      case 0xca: {
        this.#need(4)
        const p = this.pos
        if (LITTLE_ENDIAN) for (let i = 0; i < 4; i++) f32Bytes[i] = s[p + 3 - i]!
        else for (let i = 0; i < 4; i++) f32Bytes[i] = s[p + i]!
        this.pos = p + 4
        return f32[0]!
      }
      case 0xcb: {
        this.#need(8)
        const p = this.pos
        if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) f64Bytes[i] = s[p + 7 - i]!
        else for (let i = 0; i < 8; i++) f64Bytes[i] = s[p + i]!
        this.pos = p + 8
        return f64[0]!
      }
      case 0xcc:
        return this.#byte()
      case 0xcd:
        return this.#u16()
      case 0xce:
        return this.#u32()
      case 0xd0: {
        const v = this.#byte()
        return v < 0x80 ? v : v - 0x100
      }
      case 0xd1: {
        const v = this.#u16()
        return v < 0x8000 ? v : v - 0x10000
      }
      case 0xd2:
        return this.#u32() | 0
      case 0xd9:
        return this.#str(this.#byte())
      case 0xda:
        return this.#str(this.#u16())
      case 0xdb:
        return this.#str(this.#u32())
      case 0xdc:
        return this.#array(this.#u16(), depth)
      case 0xdd:
        return this.#array(this.#u32(), depth)
      case 0xde:
        return this.#map(this.#u16(), depth)
      case 0xdf:
        return this.#map(this.#u32(), depth)
      default:
        // bin, ext, 64-bit integers, the never-used 0xc1: msgpackr decides.
        throw UNSUPPORTED
    }
  }

  #array(len: number, depth: number): unknown[] {
    if (depth >= MAX_DEPTH || len > this.end - this.pos) throw UNSUPPORTED
    const out = new Array<unknown>(len)
    for (let i = 0; i < len; i++) out[i] = this.value(depth + 1)
    return out
  }

  #map(len: number, depth: number): Record<string, unknown> {
    if (depth >= MAX_DEPTH || len * 2 > this.end - this.pos) throw UNSUPPORTED
    const out: Record<string, unknown> = {}
    for (let i = 0; i < len; i++) {
      let key = this.string()
      if (key === '__proto__') key = '__proto_'
      out[key] = this.value(depth + 1)
    }
    return out
  }
}
