import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { unwatchAbort, watchAbort } from './abort-watch.ts'

const waiter = (log: string[], name: string) => ({ onAbort: () => void log.push(name) })

describe('watchAbort', () => {
  it('tells every waiter of a signal once when it aborts, behind one listener', () => {
    const controller = new AbortController()
    const log: string[] = []
    for (const name of ['a', 'b', 'c']) watchAbort(controller.signal, waiter(log, name))
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    controller.abort()
    controller.abort()
    expect(log.sort()).toEqual(['a', 'b', 'c'])
  })

  it('does not tell a waiter that stopped watching, first or later', () => {
    const controller = new AbortController()
    const log: string[] = []
    const a = waiter(log, 'a')
    const b = waiter(log, 'b')
    watchAbort(controller.signal, a)
    watchAbort(controller.signal, b)
    watchAbort(controller.signal, waiter(log, 'c'))
    unwatchAbort(controller.signal, a)
    unwatchAbort(controller.signal, b)
    unwatchAbort(new AbortController().signal, a) // never watched: nothing happens
    controller.abort()
    expect(log).toEqual(['c'])
  })

  it('lets a told waiter stop watching and others start while the abort is told', () => {
    const controller = new AbortController()
    const log: string[] = []
    const late = waiter(log, 'late')
    const a = {
      onAbort: () => {
        log.push('a')
        unwatchAbort(controller.signal, a)
        watchAbort(controller.signal, late) // the signal has aborted: never told
      },
    }
    watchAbort(controller.signal, a)
    watchAbort(controller.signal, waiter(log, 'b'))
    controller.abort()
    expect(log.sort()).toEqual(['a', 'b'])
  })

  it('reuses the listener for waiters that come after earlier ones ended', () => {
    const controller = new AbortController()
    const log: string[] = []
    for (let i = 0; i < 1_000; i++) {
      const w = waiter(log, `call ${i}`)
      watchAbort(controller.signal, w)
      unwatchAbort(controller.signal, w)
    }
    watchAbort(controller.signal, waiter(log, 'last'))
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    controller.abort()
    expect(log).toEqual(['last'])
  })
})
