import { Type as T } from '@sinclair/typebox'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { rejection } from '../../test/support/rejection.ts'
import { defineService, subscribe } from '../contract/index.ts'
import { TesseraError } from '../errors/index.ts'
import { combineInstrumentation, type Instrumentation, type SpanIds } from '../observability/index.ts'
import { InProcessHub, inProcessTransport } from '../transport/in-process/index.ts'
import { type Broker, createBroker } from './index.ts'

const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn()
})

type Record = [hook: string, ...args: unknown[]]

/** Records every hook; the start hooks open fake spans (span ids count up) like a tracer would. */
function recording(): { ins: Instrumentation; log: Record[]; of(hook: string): unknown[][] } {
  const log: Record[] = []
  let next = 0
  const span = (parent: SpanIds | undefined): SpanIds => ({
    traceId: parent?.traceId ?? 'a'.repeat(32),
    spanId: (++next).toString(16).padStart(16, '0'),
    flags: 1,
  })
  const rec =
    (hook: string, opens = false) =>
    (...args: unknown[]) => {
      log.push([hook, ...args])
      if (!opens) return undefined
      const parentIndex = hook === 'handleStarted' ? 3 : hook === 'callStarted' ? 3 : 2
      return span(args[parentIndex] as SpanIds | undefined)
    }
  const ins: Instrumentation = {
    callStarted: rec('callStarted', true) as NonNullable<Instrumentation['callStarted']>,
    callEnded: rec('callEnded'),
    callRetried: rec('callRetried'),
    breakerRejected: rec('breakerRejected'),
    breakerChanged: rec('breakerChanged'),
    handleStarted: rec('handleStarted', true) as NonNullable<Instrumentation['handleStarted']>,
    handleEnded: rec('handleEnded'),
    bulkheadQueued: rec('bulkheadQueued'),
    bulkheadRejected: rec('bulkheadRejected'),
    emitStarted: rec('emitStarted', true) as NonNullable<Instrumentation['emitStarted']>,
    emitEnded: rec('emitEnded'),
    eventStarted: rec('eventStarted', true) as NonNullable<Instrumentation['eventStarted']>,
    eventEnded: rec('eventEnded'),
  }
  return { ins, log, of: (hook) => log.filter((r) => r[0] === hook).map((r) => r.slice(1)) }
}

async function node(
  hub: InProcessHub,
  nodeId: string,
  options: Parameters<typeof createBroker>[0] = {},
): Promise<Broker> {
  const b = createBroker({ ...options, nodeId, transport: inProcessTransport(hub) })
  await b.start()
  cleanup.push(() => b.stop())
  return b
}

const echo = (fail?: string) =>
  defineService({
    name: 'echo',
    policy: { retry: { attempts: 1 } },
    events: { 'echo.said': T.Object({ text: T.String() }) },
    actions: ({ action }) => ({
      say: action({
        input: T.Object({ text: T.String() }),
        output: T.String(),
        handler: async ({ text }, ctx) => {
          if (fail) throw new TesseraError(fail as 'INTERNAL', 'broken')
          await ctx.emit('echo.said', { text })
          return text
        },
      }),
    }),
  })

type EchoService = ReturnType<typeof echo>

const front = defineService({
  name: 'front',
  actions: ({ action }) => ({
    relay: action({
      input: T.Object({ text: T.String() }),
      output: T.String(),
      handler: ({ text }, ctx) => ctx.client<EchoService>('echo').say({ text }),
    }),
  }),
})

const listenerOf = (handle: () => void) =>
  defineService({
    name: 'listener',
    on: { ...subscribe<EchoService>({ 'echo.said': { mode: 'balanced', handler: () => handle() } }) },
    actions: () => ({}),
  })
const listener = listenerOf(() => undefined)

describe('instrumentation hooks', () => {
  it('reports a nested remote call on both sides, and its spans link caller to callee', async () => {
    const hub = new InProcessHub()
    const a = recording()
    const b = recording()
    await node(hub, 'b', { services: [echo()], instrumentation: b.ins })
    const nodeA = await node(hub, 'a', { services: [front], instrumentation: a.ins })
    expect(await nodeA.call('front', 'relay', { text: 'hi' })).toBe('hi')

    // On a: the outer call (edge → front, local), front's handler, its call to echo.
    expect(a.of('callStarted').map((r) => `${r[0]}.${r[1]}<-${r[2]}`)).toEqual([
      'front.relay<-undefined',
      'echo.say<-front',
    ])
    expect(a.of('callEnded').map((r) => [r[0], r[4]])).toEqual([
      ['echo', 'OK'],
      ['front', 'OK'],
    ])
    for (const r of a.of('callEnded')) expect(r[5]).toBeGreaterThanOrEqual(0)
    // On b: the handler ran as a child of a's client span, with one in flight.
    const [started] = b.of('handleStarted')
    expect(started?.slice(0, 3)).toEqual(['echo', 'say', 'front'])
    const clientSpans = a.log.filter((r) => r[0] === 'callStarted')
    expect(clientSpans).toHaveLength(2)
    const ended = b.of('handleEnded')[0]!
    expect(ended.slice(0, 3)).toEqual(['echo', 'say', 'front'])
    expect(ended[4]).toBe('OK')
    expect(ended[6]).toBe(0)
    expect(started?.[4]).toBe(1)
    // front's handler span (on a) parents the echo client span, which parents echo's handler span on b.
    const frontRun = a.of('handleStarted')[0]!
    expect(frontRun.slice(0, 2)).toEqual(['front', 'relay'])
    const echoClientParent = a.of('callStarted')[1]![3] as SpanIds
    const frontHandlerSpan = a.of('handleEnded')[0]![3] as SpanIds
    expect(echoClientParent.spanId).toBe(frontHandlerSpan.spanId)
    const echoClientSpan = a.of('callEnded')[0]![3] as SpanIds
    expect((started![3] as SpanIds).spanId).toBe(echoClientSpan.spanId)
    expect((started![3] as SpanIds).traceId).toBe(echoClientSpan.traceId)
  })

  it('reports an error with its code on both sides', async () => {
    const hub = new InProcessHub()
    const a = recording()
    const b = recording()
    await node(hub, 'b', { services: [echo('INTERNAL')], instrumentation: b.ins })
    const nodeA = await node(hub, 'a', { instrumentation: a.ins })
    expect((await rejection(nodeA.call('echo', 'say', { text: 'x' }))).code).toBe('INTERNAL')
    expect(a.of('callEnded').map((r) => r[4])).toEqual(['INTERNAL'])
    expect(b.of('handleEnded').map((r) => r[4])).toEqual(['INTERNAL'])
  })

  it('reports a retry with the failed attempt and its code, then the call OK', async () => {
    const hub = new InProcessHub()
    const a = recording()
    const flaky = (fail: boolean) =>
      defineService({
        name: 'flaky',
        actions: ({ action }) => ({
          read: action({
            input: T.Object({}),
            output: T.String(),
            idempotent: true,
            handler: () => {
              if (fail) throw new TesseraError('UNAVAILABLE', 'disk gone')
              return 'ok'
            },
          }),
        }),
      })
    await node(hub, 'x', { services: [flaky(true)] })
    await node(hub, 'y', { services: [flaky(false)] })
    const caller = await node(hub, 'c', { instrumentation: a.ins })
    for (let i = 0; i < 4; i++) expect(await caller.call('flaky', 'read', {})).toBe('ok')
    const retries = a.of('callRetried')
    expect(retries.length).toBeGreaterThan(0)
    expect(retries[0]!.slice(0, 2)).toEqual(['flaky', 'read'])
    expect(retries[0]![3]).toBe(1)
    expect(retries[0]![4]).toBe('UNAVAILABLE')
    // The retry is told about the call's own client span.
    const spans = new Set(a.of('callStarted').map((_, i) => (a.of('callEnded')[i]![3] as SpanIds).spanId))
    expect(spans.has((retries[0]![2] as SpanIds).spanId)).toBe(true)
    expect(a.of('callEnded').map((r) => r[4])).toEqual(['OK', 'OK', 'OK', 'OK'])
  })

  it('reports the breaker opening and the calls it refuses', async () => {
    const hub = new InProcessHub()
    const a = recording()
    const bad = defineService({
      name: 'bad',
      policy: {
        breaker: { minCalls: 2, failureRatio: 0.5, windowMs: 10_000, openMs: 60_000 },
        retry: { attempts: 1 },
      },
      actions: ({ action }) => ({
        ping: action({
          input: T.Object({}),
          output: T.Null(),
          handler: () => {
            throw new TesseraError('INTERNAL', 'broken')
          },
        }),
      }),
    })
    await node(hub, 'bad', { services: [bad] })
    const caller = await node(hub, 'c', { instrumentation: a.ins })
    for (let i = 0; i < 2; i++) await caller.call('bad', 'ping', {}).catch(() => undefined)
    expect((await rejection(caller.call('bad', 'ping', {}))).code).toBe('CIRCUIT_OPEN')
    expect(a.of('breakerChanged')).toEqual([['bad', 'bad', 'open']])
    expect(a.of('breakerRejected').map((r) => r.slice(0, 3))).toEqual([['bad', 'ping', 'bad']])
    expect(a.of('callEnded').map((r) => r[4])).toEqual(['INTERNAL', 'INTERNAL', 'CIRCUIT_OPEN'])
  })

  it('reports the bulkhead queueing and refusing', async () => {
    const a = recording()
    const gate = defineService({
      name: 'gate',
      policy: { bulkhead: { maxConcurrent: 1, maxQueue: 1 } },
      actions: ({ action }) => ({
        hold: action({
          input: T.Object({}),
          output: T.Null(),
          handler: () => new Promise<null>((r) => setTimeout(() => r(null), 20)),
        }),
      }),
    })
    const broker = createBroker({ services: [gate], instrumentation: a.ins })
    await broker.start()
    cleanup.push(() => broker.stop())
    const results = await Promise.allSettled([0, 1, 2].map(() => broker.client<typeof gate>('gate').hold({})))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected'])
    expect(a.of('bulkheadQueued')).toEqual([
      ['gate', 'hold', 0],
      ['gate', 'hold', 1],
    ])
    expect(a.of('bulkheadRejected')).toEqual([['gate', 'hold']])
    expect(a.of('handleEnded').map((r) => r[4])).toEqual(['OVERLOADED', 'OK', 'OK'])
  })

  it('reports an emit and its delivery on another node, the delivery a child of the producer span', async () => {
    const hub = new InProcessHub()
    const a = recording()
    const b = recording()
    let handled!: () => void
    const done = new Promise<void>((r) => (handled = r))
    const seen = listenerOf(() => handled())
    await node(hub, 'b', { services: [seen], instrumentation: b.ins })
    const nodeA = await node(hub, 'a', { services: [echo()], instrumentation: a.ins })
    await nodeA.call('echo', 'say', { text: 'hi' })
    await done
    await vi.waitFor(() => expect(b.of('eventEnded')).toHaveLength(1))
    expect(a.of('emitEnded').map((r) => [r[0], r[1], r[3], r[4]])).toEqual([['echo', 'echo.said', 'OK', 1]])
    const producer = a.of('emitEnded')[0]![2] as SpanIds
    const [delivery] = b.of('eventStarted')
    expect(delivery?.slice(0, 2)).toEqual(['listener', 'echo.said'])
    expect((delivery![2] as SpanIds).spanId).toBe(producer.spanId)
    expect(b.of('eventEnded').map((r) => [r[0], r[3]])).toEqual([['listener', 'OK']])
  })

  it('tells a local call that timed out at its deadline, and its handler run when the run ends', async () => {
    const a = recording()
    let finish!: () => void
    const slow = defineService({
      name: 'slow',
      actions: ({ action }) => ({
        wait: action({
          input: T.Object({}),
          output: T.String(),
          handler: () => new Promise<string>((r) => (finish = () => r('late'))),
        }),
      }),
    })
    const broker = createBroker({ services: [slow], instrumentation: a.ins })
    await broker.start()
    cleanup.push(() => broker.stop())
    expect((await rejection(broker.call('slow', 'wait', {}, { timeout: 30 }))).code).toBe('TIMEOUT')
    // The call has ended; the run has not.
    expect(a.log.map((r) => [r[0], r[5]])).toEqual([
      ['callStarted', undefined],
      ['handleStarted', 1],
      ['callEnded', 'TIMEOUT'],
    ])
    finish()
    await vi.waitFor(() => expect(a.of('handleEnded')).toHaveLength(1))
    const [ended] = a.of('handleEnded')
    // The run's own span (the second one opened) and outcome, and nothing left in flight.
    expect([ended![0], ended![1], (ended![3] as SpanIds).spanId, ended![4], ended![6]]).toEqual([
      'slow',
      'wait',
      '2'.padStart(16, '0'),
      'OK',
      0,
    ])
  })

  it('combines instrumentations: every part is told, the first span returned wins', async () => {
    const a = recording()
    const b = recording()
    const both = combineInstrumentation(undefined, a.ins, b.ins)!
    const broker = createBroker({ services: [echo(), listener], instrumentation: both })
    await broker.start()
    cleanup.push(() => broker.stop())
    await broker.call('echo', 'say', { text: 'x' })
    expect(a.of('callStarted')).toHaveLength(1)
    expect(b.of('callStarted')).toHaveLength(1)
    expect((b.of('callEnded')[0]![3] as SpanIds).spanId).toBe((a.of('callEnded')[0]![3] as SpanIds).spanId)
    expect(combineInstrumentation(undefined)).toBeUndefined()
    expect(combineInstrumentation(a.ins)).toBe(a.ins)
    expect(Object.keys(combineInstrumentation({ callEnded() {} }, { callEnded() {} })!)).toEqual([
      'callEnded',
    ])
  })
})
