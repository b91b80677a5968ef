import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FrameParser } from './frame-parser.ts'

function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length)
  out.writeUInt32BE(body.length, 0)
  out.set(body, 4)
  return out
}

function collect(max = 1024) {
  const frames: Buffer[] = []
  const errors: string[] = []
  const parser = new FrameParser(
    { onFrame: (b) => frames.push(Buffer.from(b)), onError: (r) => errors.push(r) },
    max,
  )
  return { parser, frames, errors }
}

/** Cuts `buf` at the given (unsorted, possibly repeated) offsets. */
function cut(buf: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((x) => x % (buf.length + 1)))].sort((a, b) => a - b)
  const parts: Buffer[] = []
  let from = 0
  for (const p of points) {
    parts.push(buf.subarray(from, p))
    from = p
  }
  parts.push(buf.subarray(from))
  return parts
}

describe('FrameParser', () => {
  it('emits every frame of a chunk holding many frames', () => {
    const { parser, frames } = collect()
    parser.push(Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('bc')), frame(Buffer.alloc(0))]))
    expect(frames.map(String)).toEqual(['a', 'bc', ''])
  })

  it('reassembles a frame split inside its header and its body', () => {
    const { parser, frames } = collect()
    const bytes = frame(Buffer.from('hello world'))
    for (const part of cut(bytes, [2, 3, 7, 9])) parser.push(part)
    expect(frames.map(String)).toEqual(['hello world'])
    expect(parser.buffered).toBe(0)
  })

  it('reports a length prefix above the limit before its body arrives, then ignores the rest', () => {
    const { parser, frames, errors } = collect(10)
    const header = Buffer.alloc(4)
    header.writeUInt32BE(11)
    parser.push(Buffer.concat([frame(Buffer.from('ok')), header]))
    parser.push(frame(Buffer.from('later')))
    expect(frames.map(String)).toEqual(['ok'])
    expect(errors).toEqual(['frame of 11 bytes exceeds the limit of 10'])
    expect(parser.buffered).toBe(0)
  })

  it('accepts a frame exactly at the limit', () => {
    const { parser, frames, errors } = collect(3)
    parser.push(frame(Buffer.from('abc')))
    expect(frames.map(String)).toEqual(['abc'])
    expect(errors).toEqual([])
  })

  it('reassembles any valid frame stream however it is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (bodies, cuts) => {
          const { parser, frames, errors } = collect(300)
          const stream = Buffer.concat(bodies.map(frame))
          for (const part of cut(stream, cuts)) parser.push(part)
          expect(errors).toEqual([])
          expect(frames).toEqual(bodies.map((b) => Buffer.from(b)))
          expect(parser.buffered).toBe(0)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('never throws on garbage; it emits frames or reports one error, and buffers at most a frame', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), (chunks) => {
        const { parser, errors } = collect(64)
        for (const c of chunks) {
          expect(() => parser.push(Buffer.from(c))).not.toThrow()
          expect(parser.buffered).toBeLessThanOrEqual(64 + 4 + 200)
        }
        expect(errors.length).toBeLessThanOrEqual(1)
      }),
      { numRuns: 500 },
    )
  })

  it('copies a large frame split in many chunks only once', () => {
    const { parser, frames } = collect(1 << 24)
    const body = Buffer.alloc(8 << 20, 7)
    const bytes = frame(body)
    for (let i = 0; i < bytes.length; i += 65536) parser.push(bytes.subarray(i, i + 65536))
    expect(frames).toHaveLength(1)
    expect(frames[0]!.equals(body)).toBe(true)
  })
})

describe('FrameParser with onFrameAt', () => {
  it('hands out ranges of the chunk for whole frames and a buffer of its own for split ones', () => {
    const seen: Array<{ body: string; own: boolean }> = []
    const chunks: Buffer[] = []
    const parser = new FrameParser(
      {
        onFrame: () => {
          throw new Error('onFrame must not be called when onFrameAt is there')
        },
        onFrameAt: (buf, start, end) =>
          seen.push({
            body: Buffer.from(buf.subarray(start, end)).toString(),
            own: !chunks.includes(buf as Buffer),
          }),
        onError() {},
      },
      1024,
    )
    const all = Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('bc')), frame(Buffer.from('def'))])
    // The third frame is split across two chunks.
    const cutAt = all.length - 2
    chunks.push(all.subarray(0, cutAt), all.subarray(cutAt))
    for (const c of chunks) parser.push(c)
    expect(seen).toEqual([
      { body: 'a', own: false },
      { body: 'bc', own: false },
      { body: 'def', own: true },
    ])
  })
})
