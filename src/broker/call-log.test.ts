import { Type as T } from '@sinclair/typebox'
import { afterEach, describe, expect, it } from 'vitest'
import { defineService } from '../contract/index.ts'
import type { Logger } from '../observability/index.ts'
import { recordingLogger } from '../observability/testing/recording-logger.ts'
import { InProcessHub, inProcessTransport } from '../transport/in-process/index.ts'
import { type Broker, createBroker } from './index.ts'

const echo = defineService({
  name: 'echo',
  actions: ({ action }) => ({
    say: action({
      input: T.Object({ text: T.String() }),
      output: T.Object({ requestId: T.String(), traceId: T.String() }),
      handler: ({ text }, ctx) => {
        ctx.log.info({ text }, 'saying')
        return { requestId: ctx.requestId, traceId: ctx.trace.traceId }
      },
    }),
    quiet: action({ input: T.Object({}), output: T.Null(), handler: () => null }),
    broken: action({
      input: T.Object({}),
      output: T.Null(),
      handler: () => {
        throw new Error('disk on fire')
      },
    }),
  }),
})

const stops: Broker[] = []
afterEach(async () => {
  for (const b of stops.splice(0)) await b.stop()
})

async function pair(logger: Logger) {
  const hub = new InProcessHub()
  const host = createBroker({ nodeId: 'host', services: [echo], transport: inProcessTransport(hub), logger })
  const caller = createBroker({ nodeId: 'caller', transport: inProcessTransport(hub) })
  for (const b of [host, caller]) {
    await b.start()
    stops.push(b)
  }
  await caller.waitFor(['echo'])
  return caller.client<typeof echo>('echo')
}

describe('ctx.log', () => {
  it('binds the request id and trace id of the call to every line a handler logs', async () => {
    const rec = recordingLogger()
    const echoes = await pair(rec.logger)
    const out = await echoes.say({ text: 'hi' }, { requestId: 'req-1' })
    const line = rec.entries.find((e) => e.msg === 'saying')
    expect(line?.obj).toEqual({ node: 'host', requestId: 'req-1', traceId: out.traceId, text: 'hi' })
  })

  it('costs no child logger when the handler never logs', async () => {
    const rec = recordingLogger()
    const echoes = await pair(rec.logger)
    const before = rec.children()
    for (let i = 0; i < 5; i++) await echoes.quiet({})
    expect(rec.children()).toBe(before)
  })

  it('names the request and trace in the line the broker logs when a handler fails', async () => {
    const rec = recordingLogger()
    const echoes = await pair(rec.logger)
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    await expect(
      echoes.broken({}, { requestId: 'req-2', traceparent: `00-${traceId}-00f067aa0ba902b7-01` }),
    ).rejects.toMatchObject({ code: 'INTERNAL' })
    const failed = rec.entries.find((e) => e.msg === 'handler failed')
    expect(failed).toMatchObject({ level: 'error', obj: { requestId: 'req-2', traceId, action: 'broken' } })
  })
})
