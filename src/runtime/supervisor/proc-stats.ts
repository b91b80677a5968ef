import { readFileSync } from 'node:fs'

export interface ProcSample {
  /** Resident set size in bytes. */
  rssBytes: number
  /** CPU use since the previous sample of this pid, in percent of one core; undefined on the first. */
  cpuPercent: number | undefined
}

const TICKS_PER_SECOND = 100
const PAGE_BYTES = 4096

/**
 * Reads memory and CPU of processes from /proc (Linux). Returns undefined for a pid
 * that is gone or on systems without /proc. Keeps the last sample per pid to turn
 * CPU ticks into a percentage; `forget` drops it.
 */
export class ProcStats {
  #last = new Map<number, { ticks: number; at: number }>()

  sample(pid: number): ProcSample | undefined {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      this.#last.delete(pid)
      return undefined
    }
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    const rssBytes = Number(fields[21]) * PAGE_BYTES
    const now = Date.now()
    const prev = this.#last.get(pid)
    this.#last.set(pid, { ticks, at: now })
    const cpuPercent =
      prev && now > prev.at
        ? Math.round((((ticks - prev.ticks) / TICKS_PER_SECOND) * 1000 * 100) / (now - prev.at))
        : undefined
    return { rssBytes, cpuPercent }
  }

  forget(pid: number): void {
    this.#last.delete(pid)
  }
}
