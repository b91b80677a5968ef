import { afterEach, describe, expect, it } from 'vitest'
import { createAuthority } from '../../identity/index.ts'
import type { Message } from '../../wire/index.ts'
import type { TransportHandlers } from '../transport.ts'
import { type SocketTransport, socketTransport } from './socket-transport.ts'
import { ctx, info, removeDir, tempDir, until } from './test-support.ts'

/**
 * Nodes that start together dial each other at once, so every pair briefly has two
 * connections and drops one. Requests sent in that moment ride on the connection being
 * dropped. The transport's promise: a frame it accepted (`send` returned true) reaches the
 * peer, or that peer is reported gone after the send. A frame lost with its peer still
 * reported present would leave its call hanging until its deadline.
 */

const open: SocketTransport[] = []
const dirs: string[] = []

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()))
  await Promise.all(dirs.splice(0).map(removeDir))
})

interface Outstanding {
  to: string
  sentAt: number
}

/** A node that answers every request and keeps requests flowing to each peer it knows. */
function chattyNode(id: string, transport: SocketTransport) {
  const outstanding = new Map<number, Outstanding>()
  const peers = new Set<string>()
  /** When each peer was last reported gone (a request sent before that is excused). */
  const goneAt = new Map<string, number>()
  let nextId = 1
  let sending = true
  let sent = 0
  let answered = 0

  const sendOne = (to: string) => {
    if (!sending || !peers.has(to)) return
    const msgId = nextId++
    const ok = transport.send(to, {
      kind: 'request',
      id: msgId,
      service: 'math',
      action: 'add',
      input: { from: id },
      ctx,
    })
    if (ok) {
      sent++
      outstanding.set(msgId, { to, sentAt: performance.now() })
    }
  }

  const handlers: TransportHandlers = {
    onMessage(from: string, message: Message) {
      if (message.kind === 'request') {
        transport.send(from, { kind: 'response', id: message.id, ok: true, output: null })
      } else if (message.kind === 'response') {
        if (outstanding.delete(message.id)) answered++
        // Keep two requests in flight per peer: the next one is sent from this I/O callback.
        sendOne(from)
      }
    },
    onPeer(peer) {
      if (peers.has(peer.nodeId)) return
      peers.add(peer.nodeId)
      sendOne(peer.nodeId)
      sendOne(peer.nodeId)
    },
    onPeerGone(nodeId) {
      peers.delete(nodeId)
      goneAt.set(nodeId, performance.now())
      for (const [msgId, o] of outstanding) if (o.to === nodeId) outstanding.delete(msgId)
    },
  }

  return {
    id,
    transport,
    handlers,
    /** Also sends from a timer, not only in answer to answers: the moment a connection is dropped is caught mid-flight. */
    ticker: setInterval(() => {
      for (const peer of peers) sendOne(peer)
    }, 1),
    stop() {
      sending = false
      clearInterval(this.ticker)
    },
    get counts() {
      return { sent, answered, outstanding: outstanding.size }
    },
    lost: () => [...outstanding.entries()].map(([msgId, o]) => `${id}#${msgId} → ${o.to}`),
    peers,
  }
}

async function round(n: number, credentials: boolean): Promise<{ lost: string[]; sent: number }> {
  const dir = await tempDir()
  dirs.push(dir)
  const authority = credentials ? createAuthority() : undefined
  const nodes = Array.from({ length: n }, (_, i) => {
    const id = `node-${i}`
    const credential = authority?.issue({ node: id, unit: id, services: ['math'], assertsPrincipal: false })
    const transport = socketTransport({ dir, rescanIntervalMs: 50, ...(credential ? { credential } : {}) })
    open.push(transport)
    return chattyNode(id, transport)
  })
  // Started in the same turn: their discovery files appear together and they dial each other.
  await Promise.all(nodes.map((node) => node.transport.start(info(node.id), node.handlers)))
  await until(() => nodes.every((node) => node.peers.size === n - 1), 'every pair connected', 10_000)
  await new Promise((r) => setTimeout(r, 200))
  for (const node of nodes) node.stop()
  // Every request still out must be answered; the heartbeat would report a dead connection in 3 s.
  await until(() => nodes.every((node) => node.counts.outstanding === 0), 'answers', 5_000).catch(() => {})
  const result = {
    lost: nodes.flatMap((node) => node.lost()),
    sent: nodes.reduce((s, x) => s + x.counts.sent, 0),
  }
  await Promise.all(nodes.map((node) => node.transport.close()))
  return result
}

describe('nodes dialling each other at the same moment', () => {
  it('lose no request while duplicate connections are dropped', { timeout: 120_000 }, async () => {
    for (let i = 0; i < 6; i++) {
      const { lost, sent } = await round(5, false)
      expect(sent).toBeGreaterThan(100)
      expect(lost).toEqual([])
    }
  })

  it('lose no request while duplicate connections are dropped, with identity handshakes', {
    timeout: 120_000,
  }, async () => {
    for (let i = 0; i < 6; i++) {
      const { lost, sent } = await round(5, true)
      expect(sent).toBeGreaterThan(100)
      expect(lost).toEqual([])
    }
  })
})
