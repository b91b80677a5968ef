import { connect, createInbox } from 'nats'
import type { RawClient } from './raw-client.ts'
import { packr } from './raw-frames.ts'

/**
 * A client of peers/raw-nats.ts: plain nats.js publish with a reply subject and one
 * subscription to that subject, answers matched to requests by id (what a request/reply
 * layer must do at the least; nats.js's own `request` adds a timer per call).
 */
export async function rawNatsClient(url: string, subject: string): Promise<RawClient> {
  const nc = await connect({ servers: url })
  const inbox = createInbox()
  const waiting = new Map<number, (value: unknown) => void>()
  nc.subscribe(inbox, {
    callback: (err, msg) => {
      if (err) return
      const res = packr.unpack(msg.data) as [number, number, unknown]
      const resolve = waiting.get(res[1])
      waiting.delete(res[1])
      resolve?.(res[2])
    },
  })
  await nc.flush()
  const options = { reply: inbox }
  // The same request as the raw socket echo's (and as large as Tessera's): kind, id, service, action, context, input.
  const ctx = {
    requestId: '0af7651916cd43dd8448eb211c80319c',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    timeout: 10_000,
  }
  let nextId = 1
  return {
    call(input) {
      const id = nextId++
      nc.publish(subject, packr.pack([1, id, 'echo', 'ping', ctx, input]), options)
      return new Promise((resolve) => waiting.set(id, resolve))
    },
    close: () => void nc.close(),
  }
}
