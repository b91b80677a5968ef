import { connect, type Socket } from 'node:net'
import type { Logger } from '../../observability/index.ts'
import { type PeerFile, removeQuietly, resolveAddress } from './discovery-files.ts'

export interface DialOptions {
  timeoutMs: number
  logger: Logger
  /** Called with the socket while it connects, so a closing transport can destroy it. */
  track(socket: Socket, connecting: boolean): void
}

/**
 * Connects to the peer a discovery entry names. Resolves the connected socket, or
 * undefined when nobody answers (never rejects). An entry nobody listens on
 * (ECONNREFUSED) is stale, left by a process that died without closing: it is removed.
 * Any other failure is left for the next rescan to retry.
 *
 * A refusal is only believed the second time, REFUSED_RECHECK_MS later: a Unix socket
 * file appears at bind(), a moment before listen(), and fs.watch wakes this process in
 * that moment often enough on a busy machine (the woken watcher preempts the binder).
 * Removing a live peer's file would make it undialable for good.
 */
export async function dialPeer(peer: PeerFile, opts: DialOptions): Promise<Socket | undefined> {
  const first = await attemptDial(peer, opts)
  if (first !== 'refused') return first
  await new Promise((resolve) => setTimeout(resolve, REFUSED_RECHECK_MS))
  const second = await attemptDial(peer, opts)
  if (second !== 'refused') return second
  opts.logger.info({ peer: peer.nodeId, file: peer.file }, 'removing stale discovery file')
  await removeQuietly(peer.file).catch(() => {})
  return undefined
}

const REFUSED_RECHECK_MS = 100

async function attemptDial(peer: PeerFile, opts: DialOptions): Promise<Socket | 'refused' | undefined> {
  const address = await resolveAddress(peer).catch(() => undefined)
  if (!address) return undefined
  const socket = connect({ ...address, allowHalfOpen: true })
  opts.track(socket, true)
  const failure = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), opts.timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      resolve(undefined)
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve(err)
    })
    socket.once('close', () => resolve(new Error('closed while connecting')))
  })
  opts.track(socket, false)
  if (!failure) return socket
  socket.destroy()
  if (failure.code === 'ECONNREFUSED') return 'refused'
  if (failure.code !== 'ENOENT') {
    opts.logger.debug({ peer: peer.nodeId, err: failure.message }, 'dial failed; will retry on rescan')
  }
  return undefined
}
