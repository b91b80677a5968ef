import { connect } from 'node:net'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { decodeEnvelope, type Envelope, encodeEnvelope } from '../../codec/index.ts'
import {
  type Authority,
  createAuthority,
  loadCredential,
  type NodeCredential,
  proveIdentity,
} from '../../identity/index.ts'
import { FrameParser } from './frame-parser.ts'
import { type SocketTransport, socketTransport } from './socket-transport.ts'
import {
  ctx,
  info,
  type LogRecorder,
  logRecorder,
  recorder,
  removeDir,
  tempDir,
  until,
} from './test-support.ts'

let dir: string
let authority: Authority
const cleanups: Array<() => unknown> = []

beforeEach(async () => {
  dir = await tempDir()
  authority = createAuthority()
})

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
  await removeDir(dir)
})

const credentialFor = (node: string, services = ['math'], from = authority): NodeCredential =>
  from.issue({ node, unit: node.replace(/-\d+$/, ''), services, assertsPrincipal: false })

async function node(id: string, credential: NodeCredential | undefined, logger: LogRecorder = logRecorder()) {
  const transport: SocketTransport = socketTransport({
    dir,
    logger,
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 500,
    ...(credential ? { credential } : {}),
  })
  cleanups.push(() => transport.close())
  const rec = recorder()
  await transport.start(info(id), rec)
  return { transport, rec, logger }
}

function frame(body: Uint8Array): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt32BE(body.length)
  return Buffer.concat([head, body])
}

describe('socketTransport with credentials', () => {
  it('connects peers of one authority and knows each by its verified identity', async () => {
    const a = await node('math-1', credentialFor('math-1'))
    const b = await node('math-2', credentialFor('math-2'))
    await until(() => a.rec.peers.length > 0 && b.rec.peers.length > 0, 'both peers')
    expect(a.rec.peers[0]?.identity).toEqual({
      node: 'math-2',
      unit: 'math',
      services: ['math'],
      assertsPrincipal: false,
    })
    expect(a.transport.send('math-2', { kind: 'cancel', id: 1 })).toBe(true)
    await until(() => b.rec.messages.length > 0, 'a message')
    expect(b.rec.messages[0]).toEqual({ from: 'math-1', message: { kind: 'cancel', id: 1 } })
  })

  it.each([
    ['no credential', () => undefined],
    ['a credential of another authority', () => credentialFor('math-2', ['math'], createAuthority())],
    ["another node's certificate", () => credentialFor('math-9')],
  ])('refuses a peer with %s and logs why, on both sides of the dial', async (_name, credential) => {
    const guarded = await node('math-1', credentialFor('math-1'))
    const intruder = await node('math-2', credential())
    await until(
      () => guarded.logger.warnings.some((w) => w.msg === 'peer refused: no valid identity'),
      'the refusal',
    )
    // The intruder may think itself connected until the refusal's close reaches it; what
    // it sends meanwhile must never arrive.
    await until(() => !intruder.transport.send('math-1', { kind: 'cancel', id: 1 }), 'the intruder cut off')
    expect(guarded.rec.peers).toEqual([])
    expect(guarded.rec.messages).toEqual([])
  })

  it('runs no request of a raw client that has no credential, whatever principal it claims', async () => {
    const guarded = await node('math-1', credentialFor('math-1'))
    const socket = connect({ path: join(dir, 'math-1.sock') })
    socket.on('error', () => {})
    socket.resume()
    cleanups.push(() => socket.destroy())
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.write(
      Buffer.concat([
        frame(encodeEnvelope({ kind: 'hello', info: info('evil') })),
        frame(
          encodeEnvelope({
            kind: 'request',
            id: 1,
            service: 'math',
            action: 'add',
            input: {},
            ctx: { ...ctx, principal: { id: 'someone-else', roles: ['admin'] } },
          }),
        ),
      ]),
    )
    await closed
    expect(guarded.rec.messages).toEqual([])
    expect(guarded.rec.peers).toEqual([])
    expect(guarded.logger.warnings).toContainEqual({
      obj: { peer: 'evil', why: 'it presented no credential' },
      msg: 'peer refused: no valid identity',
    })
  })

  it('keeps only the services a peer’s identity allows', async () => {
    const a = await node('math-1', credentialFor('math-1'))
    // b may host `other` only, but announces `math` (info() always announces math).
    const b = await node('other-1', credentialFor('other-1', ['other']))
    await until(() => a.rec.peers.length > 0, 'the peer')
    expect(a.rec.peers[0]?.services).toEqual([])
    expect(a.logger.warnings).toContainEqual({
      obj: { peer: 'other-1', unit: 'other', dropped: ['math'] },
      msg: 'peer announced services its identity does not allow',
    })
    void b
  })

  it('lets a unit with hostsAnyExcept host services of its own, never one another unit owns', async () => {
    const a = await node('math-1', credentialFor('math-1'))
    const gateway = authority.issue({
      node: 'gateway-1',
      unit: 'gateway',
      services: ['gateway'],
      assertsPrincipal: true,
      hostsAnyExcept: ['math'],
    })
    const transport = socketTransport({
      dir,
      credential: gateway,
      heartbeatIntervalMs: 100,
      heartbeatTimeoutMs: 500,
    })
    cleanups.push(() => transport.close())
    await transport.start(
      {
        nodeId: 'gateway-1',
        seq: 1,
        services: [
          {
            name: 'gateway-events',
            version: '1.0.0',
            actions: {},
            subscriptions: { 'x.happened': 'broadcast' },
          },
          { name: 'math', version: '1.0.0', actions: { add: { idempotent: true } }, subscriptions: {} },
        ],
      },
      recorder(),
    )
    await until(() => a.rec.peers.length > 0, 'the gateway')
    expect(a.rec.peers[0]?.services.map((s) => s.name)).toEqual(['gateway-events'])
  })

  it('sends nothing between its HELLO and its PROOF: a change of services meanwhile follows the PROOF', async () => {
    const a = await node('math-1', credentialFor('math-1'))
    // A peer that is slow to say HELLO: math-1 announces new services in the meantime.
    const mine = loadCredential(credentialFor('math-2'))
    const socket = connect({ path: join(dir, 'math-1.sock') })
    socket.on('error', () => {})
    cleanups.push(() => socket.destroy())
    const frames: Envelope[] = []
    const parser = new FrameParser(
      { onFrame: (body) => frames.push(decodeEnvelope(body)), onError: () => {} },
      1 << 20,
    )
    socket.on('data', (chunk: Buffer) => parser.push(chunk))
    await until(() => frames.length === 1, 'its HELLO')
    a.transport.announce({ ...info('math-1', 2), services: [] })
    await new Promise((r) => setTimeout(r, 50))
    expect(frames.map((f) => f.kind)).toEqual(['hello'])
    const hello = frames[0] as Extract<Envelope, { kind: 'hello' }>
    socket.write(
      frame(
        encodeEnvelope({
          kind: 'hello',
          info: info('math-2'),
          auth: { certificate: mine.certificate, nonce: 'my-nonce-0123456789' },
        }),
      ),
    )
    socket.write(
      frame(
        encodeEnvelope({ kind: 'proof', proof: proveIdentity(mine, hello.auth!.nonce, 'math-2', 'math-1') }),
      ),
    )
    await until(() => frames.length >= 3, 'its PROOF and ANNOUNCE')
    expect(frames.map((f) => f.kind)).toEqual(['hello', 'proof', 'announce'])
    expect((frames[2] as Extract<Envelope, { kind: 'announce' }>).info).toMatchObject({
      seq: 2,
      services: [],
    })
    await until(() => a.rec.peers.length > 0, 'math-2 accepted')
  })
})
