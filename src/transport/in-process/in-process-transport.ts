import { TesseraError } from '../../errors/index.ts'
import type { Message, NodeInfo } from '../../wire/index.ts'
import type { Transport, TransportHandlers } from '../transport.ts'

interface Member {
  info: NodeInfo
  handlers: TransportHandlers
}

/**
 * Connects brokers that live in one process. Messages are passed by reference (no
 * serialization) and delivered on a later microtask, so a handler never runs inside
 * its caller's stack: the same ordering and async semantics as a real transport.
 */
export class InProcessHub {
  readonly #members = new Map<string, Member>()

  join(member: Member): void {
    if (this.#members.has(member.info.nodeId)) {
      throw new TesseraError('CONFLICT', `node ${member.info.nodeId} is already on this hub`)
    }
    for (const other of this.#members.values()) {
      member.handlers.onPeer(other.info)
      other.handlers.onPeer(member.info)
    }
    this.#members.set(member.info.nodeId, member)
  }

  announce(info: NodeInfo): void {
    const self = this.#members.get(info.nodeId)
    if (!self) return
    self.info = info
    for (const other of this.#members.values()) if (other !== self) other.handlers.onPeer(info)
  }

  deliver(from: string, to: string, message: Message): boolean {
    const target = this.#members.get(to)
    if (!target || !this.#members.has(from)) return false
    queueMicrotask(() => {
      // The target may have left between send and delivery: then the message is lost, as on a wire.
      if (this.#members.get(to) === target) target.handlers.onMessage(from, message)
    })
    return true
  }

  /** Removes a node; the others see it as gone with `reason` (a crash in tests, a close otherwise). */
  leave(nodeId: string, reason: string): void {
    if (!this.#members.delete(nodeId)) return
    for (const other of this.#members.values()) other.handlers.onPeerGone(nodeId, reason)
  }

  nodeIds(): string[] {
    return [...this.#members.keys()]
  }
}

/**
 * A transport for several brokers in one process, for tests and for running a
 * whole system in one process. All brokers given the same hub see each other.
 *
 * @example
 * const hub = new InProcessHub()
 * const a = createBroker({ transport: inProcessTransport(hub), services: [users] })
 * const b = createBroker({ transport: inProcessTransport(hub), services: [orders] })
 */
export function inProcessTransport(hub: InProcessHub): Transport {
  let nodeId: string | undefined
  return {
    kind: 'in-process',
    async start(local, handlers) {
      nodeId = local.nodeId
      hub.join({ info: local, handlers })
    },
    announce(local) {
      hub.announce(local)
    },
    send(to, message) {
      return nodeId !== undefined && hub.deliver(nodeId, to, message)
    },
    async close() {
      if (nodeId !== undefined) hub.leave(nodeId, 'closed')
    },
  }
}
