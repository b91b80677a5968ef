import { closeSync, fchmodSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../files/index.ts'
import type { LogRecord } from './log-record.ts'

/** The current log file of a unit; the previous one is this path plus `.1`. */
export function unitLogPath(dir: string, unit: string): string {
  return join(dir, `${unit}.log`)
}

export interface LogFiles {
  /** Appends the record as one JSON line to `<dir>/<unit>.log`. Never throws: a full disk must not stop the system. */
  append(unit: string, record: LogRecord): void
  /** Path of a unit's current log file. */
  path(unit: string): string
  /** Closes every file; a line appended after this is dropped. */
  close(): void
}

/**
 * One log file per unit under `dir`. Past `maxBytes` the file is renamed to
 * `<unit>.log.1` (replacing the previous one) and a new one starts, so each unit
 * keeps at most about twice `maxBytes`. Writes are synchronous: lines of different
 * instances never interleave mid-line and nothing is lost when the supervisor exits.
 * The folder is 0700 and each file 0600 (an older, looser one is tightened when opened):
 * services log what they handle.
 */
export function createLogFiles(dir: string, maxBytes = 5 * 1024 * 1024): LogFiles {
  ensurePrivateDir(dir)
  const open = new Map<string, { fd: number; size: number }>()
  // A line that arrives after close (written by a process an instance left behind,
  // after the instance's exit was reported) is dropped: reopening would recreate the
  // folder's files behind a caller that is already removing them.
  let closed = false
  const path = (unit: string) => unitLogPath(dir, unit)
  const file = (unit: string) => {
    let f = open.get(unit)
    if (!f) {
      const fd = openSync(path(unit), 'a', PRIVATE_FILE_MODE)
      fchmodSync(fd, PRIVATE_FILE_MODE)
      f = { fd, size: fstatSync(fd).size }
      open.set(unit, f)
    }
    return f
  }
  return {
    path,
    append(unit, record) {
      if (closed) return
      try {
        let f = file(unit)
        if (f.size > maxBytes) {
          closeSync(f.fd)
          open.delete(unit)
          renameSync(path(unit), `${path(unit)}.1`)
          f = file(unit)
        }
        const text = `${JSON.stringify(record)}\n`
        f.size += writeSync(f.fd, text)
      } catch {
        // Dropping a log line beats taking the supervisor down.
      }
    },
    close() {
      closed = true
      for (const f of open.values()) closeSync(f.fd)
      open.clear()
    },
  }
}
