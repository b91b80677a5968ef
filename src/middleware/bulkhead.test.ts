import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TesseraError } from '../errors/index.ts'
import { createBulkhead } from './bulkhead.ts'
import { flush } from './testing/fake-clock.ts'

interface Gate<T> {
  promise: Promise<T>
  open(value: T): void
  fail(err: unknown): void
}

function gate<T = string>(): Gate<T> {
  let open!: (value: T) => void
  let fail!: (err: unknown) => void
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve
    fail = reject
  })
  return { promise, open, fail }
}

describe('createBulkhead', () => {
  it('runs calls at once while under maxConcurrent', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 2, maxQueue: 0 })
    const a = gate()
    const b = gate()
    const ra = bulkhead.run(() => a.promise)
    const rb = bulkhead.run(() => b.promise)
    expect(bulkhead.running).toBe(2)
    expect(bulkhead.queued).toBe(0)
    a.open('a')
    b.open('b')
    expect(await Promise.all([ra, rb])).toEqual(['a', 'b'])
    expect(bulkhead.running).toBe(0)
  })

  it('queues calls beyond maxConcurrent and starts them in FIFO order as slots free', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 3 })
    const started: string[] = []
    const gates = new Map<string, Gate<string>>()
    const task = (name: string) => () => {
      started.push(name)
      const g = gate()
      gates.set(name, g)
      return g.promise
    }
    const results = ['a', 'b', 'c', 'd'].map((name) => bulkhead.run(task(name)))
    expect(started).toEqual(['a'])
    expect(bulkhead.queued).toBe(3)
    for (const name of ['a', 'b', 'c', 'd']) {
      gates.get(name)!.open(name)
      await flush()
    }
    expect(started).toEqual(['a', 'b', 'c', 'd'])
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd'])
    expect(bulkhead.running).toBe(0)
    expect(bulkhead.queued).toBe(0)
  })

  it('refuses with OVERLOADED at once when the queue is full, naming the limits', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 1 })
    const g = gate()
    void bulkhead.run(() => g.promise)
    void bulkhead.run(() => g.promise)
    let ran = false
    const err = await bulkhead
      .run(async () => {
        ran = true
      })
      .catch((e: unknown) => e)
    expect(ran).toBe(false)
    expect(err).toBeInstanceOf(TesseraError)
    expect(err).toMatchObject({ code: 'OVERLOADED', data: { maxConcurrent: 1, maxQueue: 1 } })
    g.open('done')
  })

  it('frees the slot when the call rejects', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 1 })
    const boom = new Error('boom')
    await expect(bulkhead.run(() => Promise.reject(boom))).rejects.toBe(boom)
    expect(bulkhead.running).toBe(0)
  })

  it('frees the slot when the function throws before returning a promise', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 0 })
    const boom = new Error('sync')
    await expect(
      bulkhead.run(() => {
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(bulkhead.running).toBe(0)
    expect(await bulkhead.run(async () => 'next')).toBe('next')
  })

  it('takes a queued call out of the queue when its signal aborts, with CANCELLED', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 2 })
    const g = gate()
    const first = bulkhead.run(() => g.promise)
    const controller = new AbortController()
    let ran = false
    const queued = bulkhead.run(async () => {
      ran = true
    }, controller.signal)
    const last = bulkhead.run(async () => 'last')
    expect(bulkhead.queued).toBe(2)
    controller.abort()
    await expect(queued).rejects.toMatchObject({ code: 'CANCELLED' })
    expect(bulkhead.queued).toBe(1)
    g.open('first')
    expect(await first).toBe('first')
    expect(await last).toBe('last')
    expect(ran).toBe(false)
  })

  it('rejects with the abort reason when it is a TesseraError', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 1 })
    const g = gate()
    void bulkhead.run(() => g.promise)
    const controller = new AbortController()
    const reason = new TesseraError('TIMEOUT', 'deadline passed')
    const queued = bulkhead.run(async () => 'never', controller.signal)
    controller.abort(reason)
    await expect(queued).rejects.toBe(reason)
    g.open('x')
  })

  it('turns a DOM TimeoutError reason into TIMEOUT', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 1 })
    const g = gate()
    void bulkhead.run(() => g.promise)
    const controller = new AbortController()
    const queued = bulkhead.run(async () => 'never', controller.signal)
    controller.abort(new DOMException('timed out', 'TimeoutError'))
    await expect(queued).rejects.toMatchObject({ code: 'TIMEOUT' })
    g.open('x')
  })

  it('does not start a call whose signal has already aborted', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 4, maxQueue: 4 })
    let ran = false
    const err = await bulkhead
      .run(async () => {
        ran = true
      }, AbortSignal.abort())
      .catch((e: unknown) => e)
    expect(ran).toBe(false)
    expect(err).toMatchObject({ code: 'CANCELLED' })
    expect(bulkhead.running).toBe(0)
  })

  it('stops listening to the signal once the queued call starts', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 1 })
    const g = gate()
    void bulkhead.run(() => g.promise)
    const controller = new AbortController()
    const h = gate()
    const queued = bulkhead.run(() => h.promise, controller.signal)
    g.open('x')
    await flush()
    expect(bulkhead.running).toBe(1)
    controller.abort() // too late: the call runs and decides for itself
    h.open('finished')
    expect(await queued).toBe('finished')
    expect(bulkhead.queued).toBe(0)
  })

  it('rejects limits that make no sense', () => {
    expect(() => createBulkhead({ maxConcurrent: 0, maxQueue: 1 })).toThrow(RangeError)
    expect(() => createBulkhead({ maxConcurrent: 1, maxQueue: -1 })).toThrow(RangeError)
    expect(() => createBulkhead({ maxConcurrent: Number.NaN, maxQueue: 1 })).toThrow(RangeError)
  })

  it('never runs more than maxConcurrent, queues at most maxQueue, and finishes every admitted call', async () => {
    type Op =
      | { type: 'submit'; abortable: boolean }
      | { type: 'finish'; index: number }
      | { type: 'abort'; index: number }
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.boolean().map((abortable) => ({ type: 'submit' as const, abortable })),
      fc.nat(50).map((index) => ({ type: 'finish' as const, index })),
      fc.nat(50).map((index) => ({ type: 'abort' as const, index })),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(op, { maxLength: 60 }),
        async (maxConcurrent, maxQueue, ops) => {
          const bulkhead = createBulkhead({ maxConcurrent, maxQueue })
          const running: Gate<string>[] = []
          const controllers: AbortController[] = []
          const outcomes: Promise<string>[] = []
          let active = 0
          let peak = 0
          for (const o of ops) {
            if (o.type === 'submit') {
              const controller = new AbortController()
              controllers.push(controller)
              const full = bulkhead.running >= maxConcurrent && bulkhead.queued >= maxQueue
              const result = bulkhead
                .run(
                  () => {
                    active++
                    peak = Math.max(peak, active)
                    const g = gate()
                    running.push(g)
                    return g.promise.finally(() => active--)
                  },
                  o.abortable ? controller.signal : undefined,
                )
                .catch((e: unknown) => (e instanceof TesseraError ? e.code : 'other'))
              outcomes.push(result)
              if (full) expect(await result).toBe('OVERLOADED')
            } else if (o.type === 'finish') {
              running.splice(o.index % Math.max(1, running.length), 1)[0]?.open('done')
            } else {
              controllers[o.index % Math.max(1, controllers.length)]?.abort()
            }
            await flush()
            expect(bulkhead.running).toBeLessThanOrEqual(maxConcurrent)
            expect(bulkhead.queued).toBeLessThanOrEqual(maxQueue)
            expect(bulkhead.running).toBe(active)
          }
          // Drain: finish everything still running until nothing is left.
          while (running.length > 0) {
            running.shift()!.open('done')
            await flush()
          }
          const results = await Promise.all(outcomes)
          for (const r of results) expect(['done', 'OVERLOADED', 'CANCELLED']).toContain(r)
          expect(peak).toBeLessThanOrEqual(maxConcurrent)
          expect(bulkhead.running).toBe(0)
          expect(bulkhead.queued).toBe(0)
        },
      ),
    )
  })
})
