import type { Connection } from './connection.ts'

export interface HeartbeatOptions {
  intervalMs: number
  timeoutMs: number
  connections(): Iterable<Connection>
}

/**
 * One timer per transport (not per connection) sweeping all connections:
 * - a handshaken connection that received nothing for `intervalMs` gets a PING (the peer
 *   answers PONG), at most one per interval;
 * - any connection that received nothing for `timeoutMs`, or got no HELLO within `timeoutMs`
 *   of connecting, is destroyed, which reports the peer gone: this catches a peer whose event
 *   loop is blocked, which the kernel alone never reports.
 * If the sweep itself runs late by more than half the timeout, this process was the one
 * blocked: unread data may be waiting in the sockets, so silence is forgiven once.
 * Returns a stop function.
 */
export function startHeartbeat(opts: HeartbeatOptions): () => void {
  const every = Math.max(10, Math.floor(opts.intervalMs / 2))
  const lastPing = new WeakMap<Connection, number>()
  let lastSweep = Date.now()
  let n = 0
  const timer = setInterval(() => {
    const now = Date.now()
    const late = now - lastSweep > every + opts.timeoutMs / 2
    lastSweep = now
    for (const conn of opts.connections()) {
      if (conn.closing) continue
      if (late) {
        conn.lastSeen = now
        if (!conn.remote) conn.openedAt = now
        continue
      }
      const idle = now - conn.lastSeen
      if (!conn.remote && now - conn.openedAt >= opts.timeoutMs) {
        // Also catches a peer trickling bytes that never form a HELLO.
        conn.destroy(`no HELLO within ${opts.timeoutMs} ms`)
      } else if (idle >= opts.timeoutMs) {
        conn.destroy(`heartbeat timeout: nothing received for ${idle} ms`)
      } else if (
        conn.remote &&
        idle >= opts.intervalMs &&
        now - (lastPing.get(conn) ?? 0) >= opts.intervalMs
      ) {
        lastPing.set(conn, now)
        conn.send({ kind: 'ping', n: ++n })
      }
    }
  }, every)
  timer.unref()
  return () => clearInterval(timer)
}
