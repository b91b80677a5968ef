import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { FrameParser } from './frame-parser.ts'
import { FrameWriter } from './frame-writer.ts'

/** A fake socket recording writes; `accept` decides what write() returns. */
class FakeOutput extends EventEmitter {
  writes: Buffer[] = []
  corked = 0
  accept = true
  write(chunk: Buffer): boolean {
    this.writes.push(Buffer.from(chunk))
    return this.accept
  }
  cork(): void {
    this.corked++
  }
  uncork(): void {}
}

function parse(chunks: Buffer[]): string[] {
  const out: string[] = []
  const parser = new FrameParser(
    { onFrame: (b) => out.push(Buffer.from(b).toString()), onError() {} },
    1 << 24,
  )
  for (const c of chunks) parser.push(c)
  return out
}

/** The writer flushes in the check phase (setImmediate), after the turn's I/O callbacks. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('FrameWriter', () => {
  it('writes all frames queued in one turn with a single write', async () => {
    const out = new FakeOutput()
    const writer = new FrameWriter(out)
    for (const s of ['a', 'bb']) writer.enqueue(Buffer.from(s))
    await Promise.resolve() // a later callback of the same turn still shares the write
    writer.enqueue(Buffer.from('ccc'))
    expect(out.writes).toHaveLength(0)
    await nextTurn()
    expect(out.writes).toHaveLength(1)
    expect(parse(out.writes)).toEqual(['a', 'bb', 'ccc'])
  })

  it('passes big bodies by reference in one corked batch', async () => {
    const out = new FakeOutput()
    const writer = new FrameWriter(out)
    const big = Buffer.alloc(100_000, 98)
    writer.enqueue(Buffer.from('x'))
    writer.enqueue(big)
    writer.enqueue(Buffer.from('y'))
    await nextTurn()
    expect(out.corked).toBe(1)
    expect(out.writes).toHaveLength(3)
    expect(parse(out.writes)).toEqual(['x', big.toString(), 'y'])
  })

  it('stops writing when write() returns false, keeps queueing, and resumes in order on drain', async () => {
    const out = new FakeOutput()
    const writer = new FrameWriter(out)
    out.accept = false
    writer.enqueue(Buffer.from('1'))
    await nextTurn()
    writer.enqueue(Buffer.from('2'))
    writer.enqueue(Buffer.from('3'))
    await nextTurn()
    expect(out.writes).toHaveLength(1)
    expect(writer.pendingBytes).toBe(10)
    let flushed = false
    void writer.flushed().then(() => {
      flushed = true
    })
    out.accept = true
    out.emit('drain')
    await nextTurn()
    expect(flushed).toBe(true)
    expect(parse(out.writes)).toEqual(['1', '2', '3'])
  })
})
