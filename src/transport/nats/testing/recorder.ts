import type { Logger } from '../../../observability/index.ts'
import type { Message, NodeInfo } from '../../../wire/index.ts'
import type { TransportHandlers } from '../../transport.ts'

/** Everything a transport reported, for assertions in tests. */
export interface Recorder {
  handlers: TransportHandlers
  messages: { from: string; message: Message }[]
  peers: NodeInfo[]
  gone: { nodeId: string; reason: string; at: number }[]
  linkLost: { nodeId: string; reason: string }[]
  undelivered: { nodeId: string; requestId: number; reason: string }[]
  /** What `inFlight` answers for every peer (0: no calls awaited, so nobody is judged silent). */
  inFlight: number
}

/** Handlers that record what they are told. */
export function recorder(): Recorder {
  const rec: Recorder = {
    messages: [],
    peers: [],
    gone: [],
    linkLost: [],
    undelivered: [],
    inFlight: 0,
    handlers: {
      inFlight: () => rec.inFlight,
      onMessage: (from, message) => rec.messages.push({ from, message }),
      onPeer: (info) => rec.peers.push(info),
      onPeerGone: (nodeId, reason) => rec.gone.push({ nodeId, reason, at: Date.now() }),
      onLinkLost: (nodeId, reason) => rec.linkLost.push({ nodeId, reason }),
      onUndelivered: (nodeId, requestId, reason) => rec.undelivered.push({ nodeId, requestId, reason }),
    },
  }
  return rec
}

/** A logger that keeps warnings, so tests can see that something was dropped. */
export function capturingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = []
  const logger = {
    warnings,
    debug() {},
    info() {},
    warn(_obj: object, msg?: string) {
      warnings.push(msg ?? '')
    },
    error() {},
    child: () => logger,
  }
  return logger
}

/** A node offering one service, as the broker would announce it. */
export function nodeInfo(nodeId: string, seq = 1): NodeInfo {
  return {
    nodeId,
    seq,
    services: [
      {
        name: 'echo',
        version: '1.0.0',
        actions: { say: { idempotent: true } },
        subscriptions: { 'user.created': 'balanced' },
      },
    ],
    meta: { pid: process.pid },
  }
}

/** Polls `probe` until it returns a value (not undefined/false); rejects after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | undefined | false,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
