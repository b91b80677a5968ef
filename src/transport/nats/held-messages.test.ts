import { describe, expect, it } from 'vitest'
import type { Message } from '../../wire/index.ts'
import { HeldMessages } from './held-messages.ts'

const request = (id: number, timeout: number): Message => ({
  kind: 'request',
  id,
  service: 's',
  action: 'a',
  input: null,
  ctx: { requestId: `r${id}`, traceparent: '00-abc-def-01', timeout },
})
const bytes = (n: number) => new Uint8Array(n)

function held(maxBytes = 1000) {
  const undelivered: { nodeId: string; id: number; reason: string }[] = []
  const h = new HeldMessages({
    maxBytes,
    now: Date.now,
    undelivered: (nodeId, id, reason) => undelivered.push({ nodeId, id, reason }),
  })
  return { h, undelivered }
}

describe('HeldMessages', () => {
  it('gives back what is held for a peer in send order, once', () => {
    const { h } = held()
    const a = bytes(1)
    const b = bytes(2)
    expect(h.hold('n1', request(1, 5000), a)).toBe(true)
    expect(h.hold('n1', { kind: 'cancel', id: 1 }, b)).toBe(true)
    expect(h.has('n1')).toBe(true)
    expect(h.take('n1')).toEqual([a, b])
    expect(h.take('n1')).toEqual([])
    expect(h.bytes).toBe(0)
    h.stop()
  })

  it('refuses a message past maxBytes', () => {
    const { h } = held(10)
    expect(h.hold('n1', request(1, 5000), bytes(8))).toBe(true)
    expect(h.hold('n2', request(2, 5000), bytes(3))).toBe(false)
    h.stop()
  })

  it('gives up a held request as undelivered before its deadline, keeping the others', async () => {
    const { h, undelivered } = held()
    h.hold('n1', request(1, 5000), bytes(1))
    h.hold('n1', request(2, 100), bytes(1))
    const started = Date.now()
    while (undelivered.length === 0 && Date.now() - started < 2000)
      await new Promise((r) => setTimeout(r, 10))
    expect(undelivered).toEqual([{ nodeId: 'n1', id: 2, reason: expect.stringMatching(/deadline/) }])
    expect(h.take('n1')).toHaveLength(1)
    h.stop()
  })

  it('drops everything held for a gone peer, each request reported undelivered', () => {
    const { h, undelivered } = held()
    h.hold('n1', request(1, 5000), bytes(1))
    h.hold('n1', { kind: 'cancel', id: 7 }, bytes(1))
    h.hold('n2', request(2, 5000), bytes(1))
    h.drop('n1', 'gone')
    expect(undelivered).toEqual([{ nodeId: 'n1', id: 1, reason: 'gone' }])
    h.dropAll('closing')
    expect(undelivered.map((u) => u.id)).toEqual([1, 2])
    expect(h.bytes).toBe(0)
    h.stop()
  })
})
