import { describe, expect, it } from 'vitest'
import { orders, startGateway, token } from './fixtures.ts'

/** Reads an event stream until `count` events arrived; returns them parsed. */
async function readEvents(res: Response, count: number): Promise<{ event: string; data: unknown }[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  const events: { event: string; data: unknown }[] = []
  let buffer = ''
  while (events.length < count) {
    const { value, done } = await reader.read()
    if (done) break
    buffer += value
    let end = buffer.indexOf('\n\n')
    while (end !== -1) {
      const frame = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = /^event: (.*)$/m.exec(frame)?.[1]
      const data = /^data: (.*)$/m.exec(frame)?.[1]
      if (event && data) events.push({ event, data: JSON.parse(data) })
      end = buffer.indexOf('\n\n')
    }
  }
  await reader.cancel()
  return events
}

function place(url: string, orderId: string, userId: string) {
  return fetch(`${url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ orderId, userId }),
  })
}

describe('gateway server-sent events', () => {
  it('streams an emitted event to a connected browser', async () => {
    await using sys = await startGateway([orders], { sse: { events: ['order.placed'], auth: 'public' } })
    const stream = await fetch(`${sys.url}/events`)
    expect(stream.status).toBe(200)
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const received = readEvents(stream, 1)
    expect((await place(sys.url, 'o1', 'ada')).status).toBe(200)
    expect(await received).toEqual([{ event: 'order.placed', data: { orderId: 'o1', userId: 'ada' } }])
  })

  it('gives a client with a token only the events for its principal', async () => {
    await using sys = await startGateway([orders], { sse: { events: ['order.placed'] } })
    expect((await fetch(`${sys.url}/events`)).status).toBe(401)
    const stream = await fetch(`${sys.url}/events`, {
      headers: { authorization: `Bearer ${await token({}, { sub: 'grace' })}` },
    })
    expect(stream.status).toBe(200)
    const received = readEvents(stream, 1)
    await place(sys.url, 'o1', 'ada')
    await place(sys.url, 'o2', 'grace')
    expect(await received).toEqual([{ event: 'order.placed', data: { orderId: 'o2', userId: 'grace' } }])
  })

  it('rejects a bad token on the event stream', async () => {
    await using sys = await startGateway([orders], { sse: { events: ['order.placed'], auth: 'public' } })
    const res = await fetch(`${sys.url}/events`, { headers: { authorization: 'Bearer forged.token.here' } })
    expect(res.status).toBe(401)
  })
})
