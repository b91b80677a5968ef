import type { SpanRecord } from './span-record.ts'

/** Where finished spans go: a sink (the runtime's IPC channel) or an OTLP exporter. */
export type SpanExport = (records: SpanRecord[]) => void | Promise<void>

export interface SpanBatcherOptions {
  /** Spans waiting beyond this are dropped (counted in `dropped`): exporting never blocks a call. */
  maxQueue: number
  /** A batch goes out as soon as this many wait. */
  maxBatch: number
  /** Else the waiting spans go out this long after the first of them ended. */
  delayMs: number
  /** An export that throws or rejects is reported here; its batch is lost, later ones are not. */
  onError: (err: unknown) => void
}

/**
 * Finished spans on their way out, in batches: a bounded queue, a timer started by the
 * first span of a batch (unref'd, so it never keeps a process alive), and one or more
 * exports that each get every batch. Adding a span is an array push.
 */
export class SpanBatcher {
  readonly #exports: readonly SpanExport[]
  readonly #opts: SpanBatcherOptions
  #queue: SpanRecord[] = []
  #timer: NodeJS.Timeout | undefined
  #inFlight = new Set<Promise<void>>()
  #stopped = false
  /** Spans dropped because the queue was full. */
  dropped = 0

  constructor(exports: readonly SpanExport[], opts: SpanBatcherOptions) {
    this.#exports = exports
    this.#opts = opts
  }

  add(record: SpanRecord): void {
    if (this.#stopped) return
    if (this.#queue.length >= this.#opts.maxQueue) {
      this.dropped++
      return
    }
    this.#queue.push(record)
    if (this.#queue.length >= this.#opts.maxBatch) this.#send()
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#send(), this.#opts.delayMs)
      this.#timer.unref()
    }
  }

  /** Sends what waits now and resolves once every export begun so far has finished. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0) this.#send()
    await Promise.all([...this.#inFlight])
  }

  /** Flushes, then takes no more spans. */
  async shutdown(): Promise<void> {
    await this.flush()
    this.#stopped = true
  }

  #send(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    const batch = this.#queue.splice(0, this.#opts.maxBatch)
    if (this.#queue.length > 0) {
      this.#timer = setTimeout(() => this.#send(), 0)
      this.#timer.unref()
    }
    if (batch.length === 0) return
    for (const out of this.#exports) {
      const done = Promise.resolve()
        .then(() => out(batch))
        .catch((err: unknown) => this.#opts.onError(err))
        .finally(() => this.#inFlight.delete(done))
      this.#inFlight.add(done)
    }
  }
}
