import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, truncateSync, unlinkSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from './crc32.ts'

/** Where a record ends in the log: a segment and the byte offset just past it. */
export interface LogPosition {
  segment: number
  offset: number
}

/** One record read back at open, with the segment it lies in and where it ends. */
export interface ReadRecord {
  value: unknown
  segment: number
  end: number
  bytes: number
}

export interface RecordLogOptions {
  dir: string
  /** A segment is closed and the next one opened once it holds this many bytes. */
  segmentBytes: number
  /** Told when a write or fsync failed: the records of that batch were not (all) stored. */
  onError?: (err: unknown) => void
}

/** `[u32 length][u32 crc32 of body][body]`: a torn or bit-rotten tail is told apart from a record. */
const HEADER = 8
const segmentName = (n: number): string => `${String(n).padStart(10, '0')}.log`

/**
 * An append-only log of JSON records in numbered segment files, written with group
 * commit: every record appended while a write is in flight goes out in the next single
 * `write`, and one `fdatasync` covers the whole batch, so N concurrent publishes cost one
 * disk flush, not N. `append(v, true)` resolves once its record is on disk (fsynced);
 * `append(v, false)` once it was handed to the kernel (an ack may be lost by a power
 * cut, which at-least-once delivery tolerates: the event comes again).
 *
 * At open every segment is read in order; the first record that is short, fails its
 * checksum or is not JSON ends the log (a write torn by a crash): the segment is cut
 * there and later segments are removed, so the log is always a clean prefix of what was
 * appended. Only this process may write the folder (the store takes its socket first).
 */
export class RecordLog {
  readonly #o: RecordLogOptions
  #fh: FileHandle | undefined
  #segment = 0
  #offset = 0
  #queue: { buf: Buffer; sync: boolean; done: (err: unknown, segment: number) => void }[] = []
  #writing: Promise<void> | undefined
  #closed = false
  /** A failed write may have left part of a record: nothing may follow it, so the log refuses from then on. */
  #failed: unknown
  #syncs = 0

  private constructor(options: RecordLogOptions) {
    this.#o = options
  }

  /** Opens (creating) the log in `dir`, handing every intact record to `onRecord` in order. */
  static async open(options: RecordLogOptions, onRecord: (r: ReadRecord) => void): Promise<RecordLog> {
    const log = new RecordLog(options)
    const segments = listSegments(options.dir)
    let cut = false
    for (const n of segments) {
      const file = join(options.dir, segmentName(n))
      if (cut) {
        unlinkSync(file) // after a torn record: never acknowledged as stored
        continue
      }
      const data = readFileSync(file)
      let offset = 0
      while (offset < data.length) {
        const r = readRecord(data, offset)
        if (!r) break
        onRecord({ value: r.value, segment: n, end: r.end, bytes: r.end - offset })
        offset = r.end
      }
      if (offset < data.length) {
        truncateSync(file, offset)
        cut = true
      }
      log.#segment = n
      log.#offset = offset
    }
    if (log.#segment === 0) log.#segment = 1
    log.#fh = await open(join(options.dir, segmentName(log.#segment)), 'a', 0o600)
    syncDir(options.dir)
    return log
  }

  /** Where the next record will start (after everything appended so far is written). */
  get position(): LogPosition {
    return { segment: this.#segment, offset: this.#offset }
  }

  /** The segment being written; every lower one is closed and may be removed. */
  get activeSegment(): number {
    return this.#segment
  }

  /** fdatasyncs made since open: with group commit, fewer than the synced appends. */
  get syncs(): number {
    return this.#syncs
  }

  /** The numbers of the segment files present, oldest first. */
  segments(): number[] {
    return listSegments(this.#o.dir)
  }

  /** Appends one record; resolves the segment it went to; rejects when the log is closed or the write (or fsync) failed. */
  append(value: unknown, sync: boolean): Promise<number> {
    if (this.#closed) return Promise.reject(new Error('event log is closed'))
    if (this.#failed !== undefined) return Promise.reject(this.#failed)
    const body = Buffer.from(JSON.stringify(value))
    const buf = Buffer.allocUnsafe(HEADER + body.length)
    buf.writeUInt32BE(body.length, 0)
    buf.writeUInt32BE(crc32(body), 4)
    body.copy(buf, HEADER)
    return new Promise((resolve, reject) => {
      this.#queue.push({
        buf,
        sync,
        done: (err, segment) => (err === undefined ? resolve(segment) : reject(err)),
      })
      this.#writing ??= this.#drain()
    })
  }

  /** Resolves once everything appended before the call is written (and its fsyncs done). */
  async flushed(): Promise<void> {
    while (this.#writing) await this.#writing
  }

  /** Removes a closed segment file; the active one is never removed. */
  remove(segment: number): void {
    if (segment >= this.#segment) throw new Error(`segment ${segment} is still being written`)
    unlinkSync(join(this.#o.dir, segmentName(segment)))
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.flushed()
    await this.#fh?.close()
    this.#fh = undefined
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue
        this.#queue = []
        try {
          const fh = this.#fh
          if (!fh) throw new Error('event log is closed')
          const all = batch.length === 1 ? batch[0]!.buf : Buffer.concat(batch.map((b) => b.buf))
          await writeAll(fh, all)
          if (batch.some((b) => b.sync)) {
            await fh.datasync()
            this.#syncs++
          }
          this.#offset += all.length
          for (const b of batch) b.done(undefined, this.#segment)
          if (this.#offset >= this.#o.segmentBytes) await this.#roll()
        } catch (err) {
          this.#failed ??= err
          this.#o.onError?.(err)
          for (const b of batch) b.done(err, this.#segment)
          for (const b of this.#queue.splice(0)) b.done(err, this.#segment)
        }
      }
    } finally {
      this.#writing = undefined
    }
  }

  async #roll(): Promise<void> {
    const next = this.#segment + 1
    const fh = await open(join(this.#o.dir, segmentName(next)), 'a', 0o600)
    syncDir(this.#o.dir)
    await this.#fh?.close()
    this.#fh = fh
    this.#segment = next
    this.#offset = 0
  }
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let done = 0
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done)
    done += bytesWritten
  }
}

function readRecord(data: Buffer, offset: number): { value: unknown; end: number } | undefined {
  if (data.length - offset < HEADER) return undefined
  const len = data.readUInt32BE(offset)
  const end = offset + HEADER + len
  if (end > data.length) return undefined
  const body = data.subarray(offset + HEADER, end)
  if (crc32(body) !== data.readUInt32BE(offset + 4)) return undefined
  try {
    return { value: JSON.parse(body.toString('utf8')), end }
  } catch {
    return undefined
  }
}

function listSegments(dir: string): number[] {
  return readdirSync(dir)
    .map((name) => /^(\d{10})\.log$/.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b)
}

/** fsyncs a folder, so a new (or renamed) file in it survives a power cut. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
