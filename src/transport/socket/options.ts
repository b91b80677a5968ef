import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type LoadedCredential, loadCredential, type NodeCredential } from '../../identity/index.ts'
import { type Logger, silentLogger } from '../../observability/index.ts'

export interface SocketTransportOptions {
  /** Nodes only see peers of the same namespace. Letters, digits, '.', '_', '-'. Default 'default'. */
  namespace?: string
  /**
   * The discovery directory every node of the namespace shares. Default
   * `$XDG_RUNTIME_DIR/tessera-<namespace>` when that variable is set, else
   * `<os.tmpdir()>/tessera-<namespace>`. Created with mode 0700.
   */
  dir?: string
  /** Listen on TCP instead of a Unix socket; the address is published in `<dir>/<nodeId>.json`. */
  tcp?: { host: '127.0.0.1'; port?: number }
  /** Largest accepted frame body; a longer length prefix closes that connection. Default 32 MiB. */
  maxFrameBytes?: number
  /** An idle connection sends PING after this long without receiving anything. Default 1000 ms. */
  heartbeatIntervalMs?: number
  /** A peer silent for this long (no frame, no PONG, no HELLO) is declared gone. Default 3000 ms. */
  heartbeatTimeoutMs?: number
  /** Safety-net rescan of the directory, in addition to fs.watch. Default 2000 ms. */
  rescanIntervalMs?: number
  logger?: Logger
  /**
   * This node's credential from the runtime. With it, every connection starts with a
   * mutual proof of identity (docs/protocol.md, "Identity"): a peer without a valid
   * certificate of the same authority is refused before any request, and each peer is
   * known by its verified identity. Without it, any process that can reach the socket
   * folder is trusted (its mode 0700 is then the only fence).
   */
  credential?: NodeCredential
  /**
   * The event store to keep durable events in (decision 0026): the one the runtime serves
   * (`<dir>/.events.sock`), or one made with `createEventStore` (it has `socketPath`).
   * Without it `durable` is undefined and durable events are refused.
   */
  durable?: { socketPath: string }
}

export interface ResolvedOptions {
  namespace: string
  dir: string
  tcp: { host: string; port: number } | undefined
  maxFrameBytes: number
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
  rescanIntervalMs: number
  logger: Logger
  credential: LoadedCredential | undefined
  durable: { socketPath: string } | undefined
}

export const DEFAULT_MAX_FRAME_BYTES = 32 * 1024 * 1024

/** Fills in defaults and rejects values that would make discovery unsafe. Throws TypeError. */
export function resolveOptions(opts: SocketTransportOptions): ResolvedOptions {
  const namespace = opts.namespace ?? 'default'
  if (!/^[A-Za-z0-9._-]+$/.test(namespace))
    throw new TypeError(`invalid namespace ${JSON.stringify(namespace)}`)
  const base = process.env.XDG_RUNTIME_DIR || tmpdir()
  const interval = opts.heartbeatIntervalMs ?? 1000
  const timeout = opts.heartbeatTimeoutMs ?? 3000
  if (!(interval > 0 && timeout > interval)) {
    throw new TypeError('heartbeatTimeoutMs must be greater than heartbeatIntervalMs > 0')
  }
  const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
  if (!(maxFrameBytes > 0 && maxFrameBytes <= 0xffffffff)) throw new TypeError('maxFrameBytes out of range')
  return {
    namespace,
    dir: opts.dir ?? join(base, `tessera-${namespace}`),
    tcp: opts.tcp ? { host: opts.tcp.host, port: opts.tcp.port ?? 0 } : undefined,
    maxFrameBytes,
    heartbeatIntervalMs: interval,
    heartbeatTimeoutMs: timeout,
    rescanIntervalMs: opts.rescanIntervalMs ?? 2000,
    logger: (opts.logger ?? silentLogger).child({ component: 'socket-transport' }),
    credential: opts.credential ? loadCredential(opts.credential) : undefined,
    durable: opts.durable ? { socketPath: opts.durable.socketPath } : undefined,
  }
}
