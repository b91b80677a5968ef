import { type FSWatcher, watch } from 'node:fs'
import { readdir } from 'node:fs/promises'
import type { Logger } from '../../observability/index.ts'
import { type PeerFile, parsePeerFile } from './discovery-files.ts'

export interface DiscoveryOptions {
  dir: string
  selfId: string
  rescanIntervalMs: number
  logger: Logger
  /** A peer file that exists now; called again on every rescan, the callee skips known peers. */
  onPeerFile(peer: PeerFile): void
}

/**
 * Finds peers by looking at the shared directory: one scan at start, fs.watch for
 * newcomers, and a periodic rescan as a safety net (fs.watch can miss events, and a
 * peer dropped by a heartbeat timeout is redialled from here). No extra server.
 */
export class Discovery {
  private watcher: FSWatcher | undefined
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(private readonly opts: DiscoveryOptions) {}

  /** Starts watching, then scans once; resolves after the first scan has reported every file. */
  async start(): Promise<void> {
    try {
      this.watcher = watch(this.opts.dir, (_event, name) => {
        if (typeof name === 'string') this.consider(name)
      })
      this.watcher.on('error', (err) => this.opts.logger.debug({ err }, 'discovery: fs.watch failed'))
    } catch (err) {
      // Some filesystems cannot be watched; the periodic rescan still finds peers.
      this.opts.logger.debug({ err }, 'discovery: fs.watch unavailable, relying on rescans')
    }
    this.timer = setInterval(() => void this.scan(), this.opts.rescanIntervalMs)
    this.timer.unref()
    await this.scan()
  }

  /** Lists the directory and reports every peer file in it (never throws). */
  async scan(): Promise<void> {
    let names: string[]
    try {
      names = await readdir(this.opts.dir)
    } catch (err) {
      this.opts.logger.warn({ err, dir: this.opts.dir }, 'discovery: cannot read the directory')
      return
    }
    for (const name of names) this.consider(name)
  }

  close(): void {
    this.closed = true
    this.watcher?.close()
    clearInterval(this.timer)
  }

  private consider(name: string): void {
    if (this.closed) return
    const peer = parsePeerFile(this.opts.dir, name)
    if (peer && peer.nodeId !== this.opts.selfId) this.opts.onPeerFile(peer)
  }
}
