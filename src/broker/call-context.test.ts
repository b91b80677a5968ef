import { describe, expect, it } from 'vitest'
import { FakeClock } from '../middleware/testing/fake-clock.ts'
import { silentLogger } from '../observability/index.ts'
import { CallContext, type ContextPort } from './call-context.ts'
import { DeadlineWatch } from './deadline-watch.ts'

const clock = new FakeClock(0)
const port: ContextPort = {
  now: () => clock.now(),
  deadlines: new DeadlineWatch(clock),
  logger: silentLogger,
  call: () => Promise.reject(new Error('not used')),
  emit: () => Promise.reject(new Error('not used')),
}

function fromWire(traceparent: string, tracestate?: string): CallContext {
  const ctx = new CallContext(port, 'svc', undefined, undefined, undefined, undefined, 1_000, {})
  ctx.useWireParent(traceparent, tracestate)
  return ctx
}

describe('CallContext with the parent span from the wire', () => {
  it('parses it when first needed: its span is a child of the caller’s, with the tracestate', () => {
    const ctx = fromWire('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'k=v')
    expect(ctx.parentTrace).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      flags: 1,
      state: 'k=v',
    })
    expect(ctx.trace.traceId).toBe('0af7651916cd43dd8448eb211c80319c')
    expect(ctx.trace.spanId).not.toBe('b7ad6b7169203331')
    expect(ctx.trace.state).toBe('k=v')
    expect(ctx.requestId).toBe('0af7651916cd43dd8448eb211c80319c')
  })

  it('starts a trace of its own when the header is malformed or all zero', () => {
    for (const bad of ['nonsense', '00-00000000000000000000000000000000-b7ad6b7169203331-01']) {
      const ctx = fromWire(bad)
      expect(ctx.parentTrace).toBeUndefined()
      expect(ctx.trace.traceId).toMatch(/^[0-9a-f]{32}$/)
      expect(ctx.trace.traceId).not.toBe('00000000000000000000000000000000')
    }
  })
})
