import { connect, createServer, type Server, type Socket } from 'node:net'
import { ensurePrivateDir } from '../../files/index.ts'
import {
  addressFile,
  MAX_SOCKET_PATH_BYTES,
  removeQuietly,
  socketFile,
  writeAddressFile,
} from './discovery-files.ts'
import type { ResolvedOptions } from './options.ts'

export interface Listener {
  server: Server
  /** Closes the server and removes this node's discovery file. Idempotent. */
  close(): Promise<void>
}

/**
 * Creates the discovery directory (0700: only this user's processes can join; an
 * existing one of this user that is looser is tightened, one of another user or a
 * sticky one like `/tmp` refused) and listens on `<dir>/<nodeId>.sock` (0600), or on
 * TCP with the address in `<dir>/<nodeId>.json` (0600).
 *
 * A socket file left by a dead process with the same nodeId is removed; if a live
 * process still answers on it, start rejects (two nodes cannot share a nodeId).
 */
export async function listen(
  opts: ResolvedOptions,
  nodeId: string,
  onSocket: (socket: Socket) => void,
): Promise<Listener> {
  ensurePrivateDir(opts.dir)
  // Half-open: a peer ending a duplicate connection still reads what we send until we end
  // it too (see Connection#peerEnded).
  const server = createServer({ noDelay: true, allowHalfOpen: true }, onSocket)
  let file: string
  if (opts.tcp) {
    await listenOn(server, { host: opts.tcp.host, port: opts.tcp.port })
    const addr = server.address()
    if (addr === null || typeof addr === 'string') throw new Error('TCP server has no address')
    file = addressFile(opts.dir, nodeId)
    await writeAddressFile(file, nodeId, opts.tcp.host, addr.port)
  } else {
    file = socketFile(opts.dir, nodeId)
    if (Buffer.byteLength(file) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(`socket path too long (${file}); use a shorter dir or nodeId, or tcp mode`)
    }
    await listenOnPath(server, file, `node ${nodeId}`)
  }
  let closing: Promise<void> | undefined
  return {
    server,
    close() {
      closing ??= (async () => {
        // Unpublish first so nobody dials a port that is going away. A Unix socket file
        // is unlinked by libuv when the server closes, so it is not removed here: an
        // unlink after close could delete the file of a newer process with the same id.
        if (opts.tcp) await removeQuietly(file)
        await new Promise<void>((resolve) => server.close(() => resolve()))
      })()
      return closing
    },
  }
}

/**
 * Listens on a Unix socket path (0600). A file left there by a dead process is removed; one
 * a live process answers on rejects (`what` names who would be running twice). The event
 * store (durable/) listens this way too.
 */
export async function listenOnPath(server: Server, path: string, what: string): Promise<void> {
  try {
    await listenOn(server, { path })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
    if (await isAlive(path)) throw new Error(`${what} is already running (${path} answers)`)
    await removeQuietly(path)
    await listenOn(server, { path })
  }
}

function listenOn(server: Server, where: { path: string } | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    const listen = () =>
      server.listen(where, () => {
        server.off('error', reject)
        resolve()
      })
    if ('path' in where) withPrivateUmask(listen)
    else listen()
  })
}

/**
 * Runs `fn` (a synchronous bind) with umask 077, so the socket file is 0600 from the
 * start: libuv creates it with the umask's mode (0755 under 022), and a chmod afterwards
 * would wake every watcher of the folder as if a peer had come. In a worker thread, where
 * the umask cannot be set, the 0700 folder alone guards it.
 */
function withPrivateUmask(fn: () => void): void {
  let previous: number | undefined
  try {
    previous = process.umask(0o077)
  } catch {}
  try {
    fn()
  } finally {
    if (previous !== undefined) process.umask(previous)
  }
}

/** Whether something accepts connections on a socket path. */
function isAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path })
    probe.once('connect', () => {
      probe.destroy()
      resolve(true)
    })
    probe.once('error', () => resolve(false))
  })
}
