import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeEnvelope } from '../codec/index.ts'
import { RawConnection } from './raw-connection.ts'
import { framed, packRaw } from './wire-frame.ts'

let server: Server | undefined
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = undefined
})

/** A server on 127.0.0.1 that hands its one accepted socket to `onSocket`. */
async function serve(onSocket: (s: Socket) => void): Promise<{ host: string; port: number }> {
  server = createServer({ allowHalfOpen: true }, onSocket)
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return { host: '127.0.0.1', port: address.port }
}

describe('RawConnection (the runner’s end of a socket)', () => {
  it('reassembles frames split byte by byte and keeps a malformed one with the decoder’s reason', async () => {
    const bytes = Buffer.concat([
      framed(encodeEnvelope({ kind: 'ping', n: 5 })),
      framed(packRaw([17, { nodeId: 'x', seq: 1, services: [{ name: 's' }] }])),
    ])
    const address = await serve((s) => {
      let i = 0
      const drip = setInterval(() => {
        if (i < bytes.length) s.write(bytes.subarray(i, ++i))
        else {
          clearInterval(drip)
          s.end()
        }
      }, 1)
    })
    const conn = await RawConnection.open(address)
    conn.autoAnswer = false
    expect(await conn.ending(5000)).toBe('fin')
    expect(conn.received).toHaveLength(2)
    expect(conn.received[0]?.env).toEqual({ kind: 'ping', n: 5 })
    expect(conn.received[1]?.kindNo).toBe(17)
    expect(conn.received[1]?.env).toBeUndefined()
    expect(conn.received[1]?.invalid).toMatch(/each service needs a name and a version/)
    conn.destroy()
  })

  it('answers PING and probe.echo as a live peer, and says so when a wait ends without the message', async () => {
    const echoCall = {
      kind: 'request',
      id: 4,
      service: 'probe',
      action: 'echo',
      input: { value: 'x' },
      ctx: { requestId: 'r', traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`, timeout: 1000 },
    } as const
    const got: Buffer[] = []
    let peer: Socket | undefined
    const address = await serve((s) => {
      peer = s
      s.on('data', (c: Buffer) => got.push(c))
      s.write(framed(encodeEnvelope({ kind: 'ping', n: 9 })))
      s.write(framed(encodeEnvelope(echoCall)))
    })
    const conn = await RawConnection.open(address)
    await expect(conn.next((r) => r.kindNo === 2, 200, 'a RESPONSE_OK')).rejects.toThrow(
      'a RESPONSE_OK: nothing within 200 ms',
    )
    const answers = Buffer.concat([
      framed(encodeEnvelope({ kind: 'pong', n: 9 })),
      framed(encodeEnvelope({ kind: 'response', id: 4, ok: true, output: { value: 'x' } })),
    ])
    for (let i = 0; i < 300 && Buffer.concat(got).length < answers.length; i++)
      await new Promise((r) => setTimeout(r, 10))
    expect(Buffer.concat(got).equals(answers)).toBe(true)
    peer?.end()
    await expect(conn.next((r) => r.kindNo === 2, 2000, 'a RESPONSE_OK')).rejects.toThrow(
      'the node ended the connection first',
    )
    conn.destroy()
  })
})
