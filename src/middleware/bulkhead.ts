import type { BulkheadPolicy } from '../contract/index.ts'
import { TesseraError } from '../errors/index.ts'

/** Limits how many calls of one kind run at once on the host side. */
export interface Bulkhead {
  /**
   * Runs `fn` now if a slot is free, else queues it (FIFO) until one frees. Rejects
   * with OVERLOADED at once when the queue is full, and with the abort reason
   * (CANCELLED unless it is a TesseraError) if `signal` aborts before `fn` starts;
   * once `fn` runs, the signal is `fn`'s business. The slot is released when the
   * promise `fn` returned settles, or at once if `fn` throws synchronously.
   */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>
  /**
   * Takes a slot without a closure, for hot paths: true when a slot was free and
   * nobody waits (the caller must then call `leave()` exactly once); false otherwise
   * (then use `run`, which queues).
   */
  tryEnter(): boolean
  /** Gives back a slot taken by `tryEnter`, starting the next waiter if any. */
  leave(): void
  /** Calls running now. */
  readonly running: number
  /** Calls waiting for a slot. */
  readonly queued: number
}

interface Waiter {
  readonly start: () => void
  readonly abort: () => void
  readonly signal: AbortSignal | undefined
  prev: Waiter | undefined
  next: Waiter | undefined
}

/**
 * A bulkhead: at most `maxConcurrent` calls run, at most `maxQueue` wait (FIFO),
 * anything beyond is refused with OVERLOADED (data `{ maxConcurrent, maxQueue }`) so
 * the caller can retry elsewhere. Under the limit `run` costs a counter and one
 * `finally`; the queue is a linked list, so an aborted waiter leaves it in O(1) and
 * holds no memory afterwards. Throws RangeError for `maxConcurrent < 1` or `maxQueue < 0`.
 *
 * @example
 * const bulkhead = createBulkhead({ maxConcurrent: 64, maxQueue: 1_000 })
 * const result = await bulkhead.run(() => handler(input, ctx), ctx.signal)
 */
export function createBulkhead(policy: BulkheadPolicy): Bulkhead {
  const { maxConcurrent, maxQueue } = policy
  if (!(maxConcurrent >= 1) || !(maxQueue >= 0)) {
    throw new RangeError(`bulkhead: maxConcurrent must be >= 1 and maxQueue >= 0`)
  }
  let running = 0
  let queued = 0
  let head: Waiter | undefined
  let tail: Waiter | undefined

  const unlink = (w: Waiter): void => {
    if (w.prev) w.prev.next = w.next
    else head = w.next
    if (w.next) w.next.prev = w.prev
    else tail = w.prev
    w.prev = undefined
    w.next = undefined
    queued--
  }

  const release = (): void => {
    running--
    const waiter = head
    if (waiter && running < maxConcurrent) {
      unlink(waiter)
      waiter.signal?.removeEventListener('abort', waiter.abort)
      waiter.start()
    }
  }

  const start = <T>(fn: () => Promise<T>): Promise<T> => {
    running++
    let promise: Promise<T>
    try {
      promise = fn()
    } catch (err) {
      release()
      return Promise.reject(err)
    }
    return Promise.resolve(promise).finally(release)
  }

  return {
    run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) return Promise.reject(abortError(signal.reason))
      if (running < maxConcurrent && queued === 0) return start(fn)
      if (queued >= maxQueue) {
        return Promise.reject(
          new TesseraError('OVERLOADED', 'too many calls in progress', { maxConcurrent, maxQueue }),
        )
      }
      return new Promise<T>((resolve, reject) => {
        const waiter: Waiter = {
          start: () => start(fn).then(resolve, reject),
          abort: () => {
            unlink(waiter)
            reject(abortError(signal?.reason))
          },
          signal,
          prev: tail,
          next: undefined,
        }
        if (tail) tail.next = waiter
        else head = waiter
        tail = waiter
        queued++
        signal?.addEventListener('abort', waiter.abort, { once: true })
      })
    },
    tryEnter() {
      if (running >= maxConcurrent || queued > 0) return false
      running++
      return true
    },
    leave: release,
    get running() {
      return running
    },
    get queued() {
      return queued
    },
  }
}

function abortError(reason: unknown): TesseraError {
  if (reason instanceof TesseraError) return reason
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new TesseraError('TIMEOUT', 'the call timed out while queued', undefined, { cause: reason })
  }
  return new TesseraError('CANCELLED', 'the call was cancelled while queued', undefined, { cause: reason })
}
