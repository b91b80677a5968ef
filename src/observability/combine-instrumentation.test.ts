import { describe, expect, it } from 'vitest'
import { combineInstrumentation, neverTimed } from './combine-instrumentation.ts'
import type { Instrumentation, SpanIds } from './instrumentation.ts'

const ids = (spanId: string): SpanIds => ({ traceId: '1'.repeat(32), spanId, flags: 1 })

/** A part that records each hook it is told, in order, as `<tag>.<hook>`, and may return a span. */
function part(tag: string, told: string[], span?: SpanIds): Instrumentation {
  return {
    callStarted: (service, action) => {
      told.push(`${tag}.callStarted ${service}.${action}`)
      return span
    },
    callEnded: (_s, _a, _c, s, outcome) => {
      told.push(`${tag}.callEnded ${s?.spanId} ${outcome}`)
    },
  }
}

describe('combineInstrumentation', () => {
  it('tells every part in order and returns the first span, for two parts and for more', () => {
    for (const count of [2, 3]) {
      const told: string[] = []
      const parts = [part('a', told), part('b', told, ids('b')), part('c', told, ids('c'))].slice(0, count)
      const all = combineInstrumentation(...parts)!
      const span = all.callStarted?.('echo', 'ping', undefined, undefined)
      expect(span?.spanId).toBe('b')
      all.callEnded?.('echo', 'ping', undefined, span, 'OK', 1)
      const tags = ['a', 'b', 'c'].slice(0, count)
      expect(told).toEqual([
        ...tags.map((t) => `${t}.callStarted echo.ping`),
        ...tags.map((t) => `${t}.callEnded b OK`),
      ])
      expect(Object.keys(all).sort()).toEqual(['callEnded', 'callStarted'])
    }
  })

  it('leaves parts that never time out of `timed`', () => {
    const asked: string[] = []
    const tracer: Instrumentation = { timed: neverTimed, callEnded() {} }
    const metrics: Instrumentation = {
      timed: (hop, service, name) => {
        asked.push(`${hop} ${service}.${name}`)
        return hop === 'call'
      },
    }
    const both = combineInstrumentation(tracer, metrics)!
    expect(both.timed?.('call', 'echo', 'ping', undefined)).toBe(true)
    expect(both.timed?.('handle', 'echo', 'ping', undefined)).toBe(false)
    expect(asked).toEqual(['call echo.ping', 'handle echo.ping'])
    // Only parts that never time: the result never times either.
    expect(combineInstrumentation(tracer, { timed: neverTimed })!.timed).toBe(neverTimed)
    // A part without `timed` wants every hop timed, whatever a tracer says.
    expect(combineInstrumentation(tracer, { callEnded() {} })!.timed).toBeUndefined()
  })
})
