/**
 * Issue 9, finding 5: a client trickling a body (Content-Length 1000, a byte every 5 s)
 * kept its connection for minutes; nothing bounded headers, bodies or idle connections.
 * Real sockets, small timeouts, and only "closed before a generous bound" as timing.
 */
import { connect, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { recordingLogger } from '../../../src/observability/testing/recording-logger.ts'
import { openStream, within } from './event-stream.ts'
import { catalogService, createCounter, orders, startGateway } from './fixtures.ts'

const SMALL = {
  headersTimeoutMs: 1_000,
  requestTimeoutMs: 1_000,
  keepAliveTimeoutMs: 500,
  checkIntervalMs: 100,
}

interface RawClient {
  socket: Socket
  /** Everything the server sent. */
  received: () => string
  /** Resolves when the server closed the connection. */
  closed: Promise<void>
  /** Writes one byte of `text` every `everyMs` until the connection closes. */
  trickle(text: string, everyMs: number): void
  [Symbol.dispose](): void
}

async function rawClient(url: string): Promise<RawClient> {
  const { hostname, port } = new URL(url)
  const socket = connect({ host: hostname, port: Number(port) })
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  let received = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk))
  socket.on('error', () => {}) // a reset is a close too
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  let timer: NodeJS.Timeout | undefined
  void closed.then(() => clearInterval(timer))
  return {
    socket,
    received: () => received,
    closed,
    trickle(text, everyMs) {
      let i = 0
      timer = setInterval(() => {
        if (socket.writable) socket.write(text[i++ % text.length]!)
      }, everyMs)
    },
    [Symbol.dispose]() {
      clearInterval(timer)
      socket.destroy()
    },
  }
}

describe('gateway slow-client timeouts', () => {
  it('cuts off a client that trickles its request body, with 408, and logs it', async () => {
    const calls = createCounter()
    const { logger, entries } = recordingLogger()
    await using sys = await startGateway([catalogService(calls)], { connections: SMALL, logger })
    using client = await rawClient(sys.url)
    client.socket.write(
      'POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    )
    client.trickle(' ', 100)
    expect(await within(client.closed, 8_000)).toBe(true)
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /)
    expect(calls.of('create')).toBe(0)
    expect(
      entries.some((e) => e.msg === 'client connection refused' && (e.obj as any).reason === 'timeout'),
    ).toBe(true)
  })

  it('cuts off a client that trickles its headers, with 408', async () => {
    await using sys = await startGateway([catalogService(createCounter())], { connections: SMALL })
    using client = await rawClient(sys.url)
    client.socket.write('GET /items/1 HTTP/1.1\r\nHost: x\r\nX-Slow: ')
    client.trickle('a', 100)
    expect(await within(client.closed, 8_000)).toBe(true)
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /)
  })

  it('closes a connection that opens and sends nothing', async () => {
    await using sys = await startGateway([catalogService(createCounter())], { connections: SMALL })
    using client = await rawClient(sys.url)
    expect(await within(client.closed, 8_000)).toBe(true)
  })

  it('closes a keep-alive connection left idle after its answer', async () => {
    await using sys = await startGateway([catalogService(createCounter())], { connections: SMALL })
    using client = await rawClient(sys.url)
    client.socket.write('GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n')
    await expect.poll(() => client.received()).toMatch(/^HTTP\/1\.1 200 /)
    expect(await within(client.closed, 8_000)).toBe(true)
  })

  it('keeps an event stream open past the request timeout: it bounds receiving the request only', async () => {
    await using sys = await startGateway([orders], {
      connections: SMALL,
      sse: { events: ['order.placed'], auth: 'public', heartbeatMs: 200 },
    })
    const stream = await openStream(sys.url)
    try {
      expect(stream.status).toBe(200)
      // Well past requestTimeoutMs and several checks of the connection timers.
      await new Promise((r) => setTimeout(r, 2_500))
      await fetch(`${sys.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId: 'o1', userId: 'ada' }),
      })
      expect((await stream.next('order.placed')).data).toEqual({ orderId: 'o1', userId: 'ada' })
    } finally {
      stream.close()
    }
  })

  it('refuses timeouts that cannot work together', async () => {
    await expect(
      startGateway([], { connections: { headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 } }),
    ).rejects.toThrow(/headersTimeoutMs/)
  })
})
