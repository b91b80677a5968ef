import { describe, expect, it } from 'vitest'
import { BATCH_MARK, batchPayload, forEachEnvelopeAt } from './batch.ts'

const bytes = (...b: number[]) => new Uint8Array(b)
const collect = (data: Uint8Array) => {
  const out: number[][] = []
  const ok = forEachEnvelopeAt(data, (whole, start, end) => out.push([...whole.subarray(start, end)]))
  return { ok, out }
}

describe('batches', () => {
  it('sends a lone envelope bare', () => {
    const one = bytes(0x93, 1, 2, 3)
    expect(batchPayload([one], 4 + one.length)).toBe(one)
    expect(collect(one)).toEqual({ ok: true, out: [[0x93, 1, 2, 3]] })
  })

  it('round-trips several envelopes in order, empty ones included', () => {
    const items = [bytes(0x92, 1, 2), bytes(), bytes(0x91, 7)]
    const size = items.reduce((n, e) => n + 4 + e.length, 0)
    const payload = batchPayload(items, size)
    expect(payload[0]).toBe(BATCH_MARK)
    expect(payload.length).toBe(1 + size)
    expect(collect(payload)).toEqual({ ok: true, out: [[0x92, 1, 2], [], [0x91, 7]] })
  })

  it('delivers what is intact and reports a truncated batch', () => {
    const payload = batchPayload([bytes(0x91, 1), bytes(0x91, 2)], 12)
    expect(collect(payload.subarray(0, payload.length - 1))).toEqual({ ok: false, out: [[0x91, 1]] })
    expect(collect(payload.subarray(0, 8))).toEqual({ ok: false, out: [[0x91, 1]] })
  })
})

describe('forEachEnvelopeAt', () => {
  it('gives the envelopes as ranges of the payload itself, not copies or views', () => {
    const items = [bytes(0x92, 1, 2), bytes(), bytes(0x91, 7)]
    const payload = batchPayload(
      items,
      items.reduce((n, e) => n + 4 + e.length, 0),
    )
    const out: number[][] = []
    const ok = forEachEnvelopeAt(payload, (data, start, end) => {
      expect(data).toBe(payload)
      out.push([...data.subarray(start, end)])
    })
    expect({ ok, out }).toEqual({ ok: true, out: [[0x92, 1, 2], [], [0x91, 7]] })
    const one = bytes(0x93, 1, 2, 3)
    expect(
      forEachEnvelopeAt(one, (data, start, end) => expect([data, start, end]).toEqual([one, 0, 4])),
    ).toBe(true)
  })
})
