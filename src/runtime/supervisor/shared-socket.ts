import net from 'node:net'
import { getSystemErrorName } from 'node:util'
import { TesseraError } from '../../errors/index.ts'

/** A TCP socket bound by the supervisor and inherited by every instance of a unit. */
export interface SharedSocket {
  /** Its file descriptor in the supervisor (what spawn's stdio entry passes on). */
  readonly fd: number
  readonly host: string
  /** The bound port (the one picked when the config said 0). */
  readonly port: number
  close(): void
}

interface TcpHandle {
  fd: number
  getsockname(out: { address?: string; port?: number }): number
  close(): void
}

const createServerHandle = (
  net as unknown as {
    _createServerHandle(
      address: string,
      port: number,
      addressType: number,
      fd: number | undefined,
      flags: number,
    ): TcpHandle | number
  }
)._createServerHandle

/**
 * Binds `host:port` without listening: the supervisor never accepts a connection itself
 * (a listening `net.Server` here would take its share of them). The first instance that
 * listens on the inherited fd turns it into a listening socket; from then on the kernel
 * queues connections on it even while no instance is accepting (between a crash and the
 * replacement), and spreads them over the instances that are. This is what Node's
 * cluster module does for shared handles (`net._createServerHandle`).
 */
export function bindSharedSocket(host: string, port: number): SharedSocket {
  const family = net.isIP(host)
  if (family === 0) throw new TesseraError('VALIDATION', `listen.host must be an IP address, got "${host}"`)
  const handle = createServerHandle(host, port, family, undefined, 0)
  if (typeof handle === 'number') {
    const code = getSystemErrorName(handle)
    throw new TesseraError('UNAVAILABLE', `cannot listen on ${host}:${port}: ${code}`, { code })
  }
  const out: { address?: string; port?: number } = {}
  handle.getsockname(out)
  let closed = false
  return {
    fd: handle.fd,
    host,
    port: out.port ?? port,
    close() {
      if (closed) return
      closed = true
      handle.close()
    },
  }
}
