import { Type as T } from '@sinclair/typebox'
import { afterEach, describe, expect, it } from 'vitest'
import { type OrdersService, orders, recorder, type UsersService, users } from '../../test/fixtures/shop.ts'
import { rejection } from '../../test/support/rejection.ts'
import { defineService } from '../contract/index.ts'
import { TesseraError } from '../errors/index.ts'
import { fakeService, startTestSystem, type TestSystem } from '../testkit/index.ts'
import { InProcessHub, inProcessTransport } from '../transport/in-process/index.ts'
import { type Broker, createBroker } from './index.ts'

const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn()
})

/** A client of a service no node hosts in the test below. */
type LedgerClient = { write(input: object, options?: { timeout?: number }): Promise<unknown> }

async function system(...args: Parameters<typeof startTestSystem>): Promise<TestSystem> {
  const s = await startTestSystem(...args)
  cleanup.push(() => s.stop())
  return s
}

async function node(
  hub: InProcessHub,
  nodeId: string,
  services: Parameters<typeof createBroker>[0] = {},
): Promise<Broker> {
  const b = createBroker({ ...services, nodeId, transport: inProcessTransport(hub) })
  await b.start()
  cleanup.push(() => b.stop())
  return b
}

describe('broker', () => {
  it('calls an action in the same broker and validates its input', async () => {
    const broker = createBroker({ services: [users] })
    await broker.start()
    cleanup.push(() => broker.stop())
    expect(await broker.client<UsersService>('users').get({ id: '1' })).toEqual({ id: '1', name: 'Ada' })
    const err = await rejection(broker.client<UsersService>('users').get({ id: 42 as unknown as string }))
    expect(err.code).toBe('VALIDATION')
    expect(err.data).toMatchObject({ errors: [{ path: '/id' }] })
    expect(err.message).toContain('/id')
  })

  it('routes a call across the transport and keeps error codes and data', async () => {
    const s = await system({ services: [users] })
    expect(await s.client<UsersService>('users').get({ id: '2' })).toEqual({ id: '2', name: 'Grace' })
    const err = await rejection(s.client<UsersService>('users').get({ id: '9' }))
    expect(err.code).toBe('NOT_FOUND')
    expect(err.data).toEqual({ id: '9' })
  })

  it('hides unknown throws as INTERNAL without their message or stack', async () => {
    const leaky = defineService({
      name: 'leaky',
      actions: ({ action }) => ({
        boom: action({
          input: T.Object({}),
          output: T.Null(),
          handler: () => {
            throw new Error('password=hunter2')
          },
        }),
      }),
    })
    const s = await system({ services: [leaky] })
    const err = await rejection(s.client<typeof leaky>('leaky').boom({}))
    expect(err.code).toBe('INTERNAL')
    expect(err.message).not.toContain('hunter2')
    expect(err.stack ?? '').not.toContain('hunter2')
  })

  it('answers INTERNAL when a handler breaks its output schema', async () => {
    const liar = defineService({
      name: 'liar',
      actions: ({ action }) => ({
        get: action({
          input: T.Object({}),
          output: T.Object({ n: T.Number() }),
          handler: () => ({ n: 'one' }) as unknown as { n: number },
        }),
      }),
    })
    const s = await system({ services: [liar] })
    const err = await rejection(s.client<typeof liar>('liar').get({}))
    expect(err.code).toBe('INTERNAL')
    expect(err.message).toContain('schema')
  })

  it('answers UNAVAILABLE for a service nobody hosts and NOT_FOUND for an unknown action', async () => {
    const s = await system({ services: [users] })
    const missing = await rejection(s.caller.call('nobody', 'get', {}))
    expect(missing.code).toBe('UNAVAILABLE')
    const noAction = await rejection(s.caller.call('users', 'nope', {}))
    expect(noAction.code).toBe('NOT_FOUND')
  })

  it('carries request id, trace, caller, principal and meta through nested calls', async () => {
    const s = await system({ services: [users, orders] })
    const result = await s.client<OrdersService>('orders').traceOfUser(
      {},
      {
        principal: { id: 'u-7' },
        meta: { tenant: 'acme' },
        traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
      },
    )
    const theirs = result.theirs as {
      traceId: string
      spanId: string
      caller: string
      principal: string
      requestId: string
      meta: Record<string, string>
    }
    expect(result.mine.traceId).toBe('a'.repeat(32))
    expect(theirs.traceId).toBe('a'.repeat(32))
    expect(theirs.spanId).not.toBe(result.mine.spanId)
    expect(theirs.caller).toBe('orders')
    expect(theirs.principal).toBe('u-7')
    expect(theirs.requestId).toBe('a'.repeat(32))
    expect(theirs.meta).toEqual({ tenant: 'acme' })
  })

  it('continues a trace given as an object, over a traceparent also given', async () => {
    const s = await system({ services: [users, orders] })
    const trace = { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), flags: 1 }
    const result = await s
      .client<OrdersService>('orders')
      .traceOfUser({}, { trace, traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` })
    expect(result.mine.traceId).toBe('c'.repeat(32))
    expect((result.theirs as { traceId: string }).traceId).toBe('c'.repeat(32))
  })

  it('shrinks the deadline along a call chain', async () => {
    const s = await system({ services: [users, orders] })
    const result = await s.client<OrdersService>('orders').traceOfUser({}, { timeout: 5_000 })
    const theirs = result.theirs as { remaining: number }
    expect(result.mine.remaining).toBeLessThanOrEqual(5_000)
    expect(theirs.remaining).toBeLessThanOrEqual(result.mine.remaining)
    expect(theirs.remaining).toBeGreaterThan(0)
  })

  it('times out a hanging action with TIMEOUT and aborts the handler signal', async () => {
    let aborted: unknown
    const slow = defineService({
      name: 'slow',
      actions: ({ action }) => ({
        wait: action({
          input: T.Object({}),
          output: T.Null(),
          handler: (_i, ctx) =>
            new Promise<null>((_resolve, reject) => {
              ctx.signal.addEventListener('abort', () => {
                aborted = ctx.signal.reason
                reject(ctx.signal.reason)
              })
            }),
        }),
      }),
    })
    const s = await system({ services: [slow] })
    const err = await rejection(s.client<typeof slow>('slow').wait({}, { timeout: 50 }))
    expect(err.code).toBe('TIMEOUT')
    await expect.poll(() => aborted).toBeInstanceOf(TesseraError)
  })

  it('cancels a call through an AbortSignal and the callee sees it', async () => {
    const s = await system({ services: [users] })
    s.inject('users.get', { kind: 'hang' })
    const controller = new AbortController()
    const pending = s.client<UsersService>('users').get({ id: '1' }, { signal: controller.signal })
    setTimeout(() => controller.abort(), 10)
    const err = await rejection(pending)
    expect(err.code).toBe('CANCELLED')
    await expect.poll(() => s.brokers.get('users')!.inFlight).toBe(0)
  })

  it('retries an idempotent action on another instance after UNAVAILABLE', async () => {
    const hub = new InProcessHub()
    const calls: string[] = []
    const flaky = (nodeId: string, fail: boolean) =>
      defineService({
        name: 'flaky',
        actions: ({ action }) => ({
          read: action({
            input: T.Object({}),
            output: T.String(),
            idempotent: true,
            handler: () => {
              calls.push(nodeId)
              if (fail) throw new TesseraError('UNAVAILABLE', 'disk gone')
              return nodeId
            },
          }),
        }),
      })
    await node(hub, 'a', { services: [flaky('a', true)] })
    await node(hub, 'b', { services: [flaky('b', false)] })
    const caller = await node(hub, 'c')
    for (let i = 0; i < 6; i++) expect(await caller.call('flaky', 'read', {})).toBe('b')
    expect(calls.filter((n) => n === 'a').length).toBeGreaterThan(0)
  })

  it('has an idempotent call whose only instance left wait for the next one rather than fail', async () => {
    const hub = new InProcessHub()
    const slow = (nodeId: string, hang: boolean) =>
      defineService({
        name: 'slow',
        actions: ({ action }) => ({
          read: action({
            input: T.Object({}),
            output: T.String(),
            idempotent: true,
            handler: () => (hang ? new Promise<string>(() => {}) : nodeId),
          }),
        }),
      })
    await node(hub, 'old', { services: [slow('old', true)], drainTimeoutMs: 50 })
    const caller = await node(hub, 'caller', { waitForInstanceMs: 5_000 })
    const pending = caller.call('slow', 'read', {}, { timeout: 10_000 })
    await new Promise((r) => setTimeout(r, 20))
    // Every instance gone for a moment (as when all of them lost their NATS server), one back.
    hub.leave('old', 'crashed')
    await new Promise((r) => setTimeout(r, 100))
    await node(hub, 'new', { services: [slow('new', false)] })
    expect(await pending).toBe('new')

    // With none coming back it fails UNAVAILABLE, undelivered, after one wait per call.
    await caller.stop()
    const impatient = await node(hub, 'impatient', { waitForInstanceMs: 100 })
    await node(hub, 'old2', { services: [slow('old2', true)], drainTimeoutMs: 50 })
    await impatient.waitFor(['slow'], 1_000)
    hub.leave('new', 'crashed')
    const lost = impatient.call('slow', 'read', {}, { timeout: 10_000 })
    await new Promise((r) => setTimeout(r, 20))
    hub.leave('old2', 'crashed')
    const err = await rejection(lost)
    expect(err.code).toBe('UNAVAILABLE')
    expect(err.data).toMatchObject({ service: 'slow', delivered: false })
  })

  it('passes on a deeper failure as upstream: not retried as undelivered, not opening the circuit of the instance that answered', async () => {
    const hub = new InProcessHub()
    let runs = 0
    const front = defineService({
      name: 'front',
      actions: ({ action }) => ({
        // Not idempotent: it must never run twice because a deeper call was undelivered.
        charge: action({
          input: T.Object({}),
          output: T.Null(),
          handler: async (_input, ctx) => {
            runs++
            await (ctx.client('ledger') as unknown as LedgerClient).write({}, { timeout: 50 })
            return null
          },
        }),
      }),
    })
    await node(hub, 'front-1', { services: [front], waitForInstanceMs: 10 })
    const caller = await node(hub, 'caller', {
      policy: { breaker: { minCalls: 3, failureRatio: 0.5, openMs: 60_000 } },
    })
    for (let i = 0; i < 6; i++) {
      const err = await rejection(caller.call('front', 'charge', {}))
      expect(err.code).toBe('UNAVAILABLE') // no instance of ledger, behind front
      expect(err.data).toMatchObject({ service: 'ledger', upstream: true })
      expect(err.data).not.toHaveProperty('delivered')
    }
    expect(runs).toBe(6) // once per call: not retried
  })

  it('passes on a deeper failure as upstream from a handler in the same broker too', async () => {
    const hub = new InProcessHub()
    let runs = 0
    const front = defineService({
      name: 'front',
      actions: ({ action }) => ({
        charge: action({
          input: T.Object({}),
          output: T.Null(),
          handler: async (_input, ctx) => {
            runs++
            await (ctx.client('ledger') as unknown as LedgerClient).write({}, { timeout: 50 })
            return null
          },
        }),
      }),
    })
    // One broker hosts front and makes the call: the local path, no wire between them.
    const both = await node(hub, 'both', {
      services: [front],
      waitForInstanceMs: 10,
      policy: { breaker: { minCalls: 3, failureRatio: 0.5, openMs: 60_000 } },
    })
    for (let i = 0; i < 6; i++) {
      const err = await rejection(both.call('front', 'charge', {}))
      expect(err.code).toBe('UNAVAILABLE')
      expect(err.data).toMatchObject({ service: 'ledger', upstream: true })
      expect(err.data).not.toHaveProperty('delivered')
    }
    expect(runs).toBe(6)
  })

  it('never retries a non-idempotent action', async () => {
    let attempts = 0
    const s2 = await system({
      services: [
        defineService({
          name: 'pay',
          actions: ({ action }) => ({
            charge: action({
              input: T.Object({}),
              output: T.Null(),
              handler: () => {
                attempts++
                throw new TesseraError('UNAVAILABLE', 'try later')
              },
            }),
          }),
        }),
      ],
    })
    const err = await rejection(s2.caller.call('pay', 'charge', {}))
    expect(err.code).toBe('UNAVAILABLE')
    expect(attempts).toBe(1)
  })

  it('rejects with OVERLOADED once the bulkhead and its queue are full', async () => {
    const gate = defineService({
      name: 'gate',
      policy: { bulkhead: { maxConcurrent: 1, maxQueue: 1 } },
      actions: ({ action }) => ({
        hold: action({
          input: T.Object({ ms: T.Number() }),
          output: T.Null(),
          handler: ({ ms }) => new Promise((r) => setTimeout(() => r(null), ms)),
        }),
      }),
    })
    const s = await system({ services: [gate] })
    const c = s.client<typeof gate>('gate')
    const results = await Promise.allSettled([c.hold({ ms: 50 }), c.hold({ ms: 1 }), c.hold({ ms: 1 })])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected'])
    expect(((results[2] as PromiseRejectedResult).reason as TesseraError).code).toBe('OVERLOADED')
  })

  it('uses the fallback when every attempt failed', async () => {
    const s = await system({ services: [users] })
    s.inject('users.get', { kind: 'error', code: 'UNAVAILABLE' })
    const user = await s
      .client<UsersService>('users')
      .get({ id: '1' }, { fallback: () => ({ id: '1', name: 'cached' }) })
    expect(user).toEqual({ id: '1', name: 'cached' })
  })

  it('opens the circuit of a failing instance and routes around it', async () => {
    const hub = new InProcessHub()
    const hits = { bad: 0, good: 0 }
    const svc = (name: 'bad' | 'good') =>
      defineService({
        name: 'echo',
        policy: {
          breaker: { minCalls: 4, failureRatio: 0.5, windowMs: 10_000, openMs: 60_000 },
          retry: { attempts: 1 },
        },
        actions: ({ action }) => ({
          ping: action({
            input: T.Object({}),
            output: T.String(),
            handler: () => {
              hits[name]++
              if (name === 'bad') throw new TesseraError('INTERNAL', 'broken')
              return name
            },
          }),
        }),
      })
    await node(hub, 'bad', { services: [svc('bad')] })
    await node(hub, 'good', { services: [svc('good')] })
    const caller = await node(hub, 'caller')
    for (let i = 0; i < 20; i++) await caller.call('echo', 'ping', {}).catch(() => undefined)
    const badBefore = hits.bad
    for (let i = 0; i < 20; i++) expect(await caller.call('echo', 'ping', {})).toBe('good')
    expect(hits.bad).toBe(badBefore)
    expect(badBefore).toBeLessThan(10)
  })

  it('fails calls in flight to a node that leaves, and retries idempotent ones elsewhere', async () => {
    const hub = new InProcessHub()
    const a = await node(hub, 'a', { services: [users] })
    await node(hub, 'b', { services: [users] })
    const caller = await node(hub, 'caller', { balancer: 'round-robin' })
    void a
    // A hanging instance 'a' would hold the call until its deadline; its departure must end the wait at once.
    const hang = defineService({
      name: 'hang',
      actions: ({ action }) => ({
        wait: action({ input: T.Object({}), output: T.Null(), handler: () => new Promise<null>(() => {}) }),
      }),
    })
    const h = await node(hub, 'h', { services: [hang], drainTimeoutMs: 50 })
    void h
    const pending = caller.call('hang', 'wait', {}, { timeout: 60_000 })
    await new Promise((r) => setTimeout(r, 10))
    hub.leave('h', 'crashed')
    const err = await rejection(pending)
    expect(err.code).toBe('UNAVAILABLE')
    hub.leave('a', 'crashed')
    for (let i = 0; i < 4; i++)
      expect(await caller.client<UsersService>('users').get({ id: '1' })).toEqual({ id: '1', name: 'Ada' })
  })

  it('delivers a balanced event to one instance of each subscribing service', async () => {
    const hub = new InProcessHub()
    const mail1 = recorder('mailer', 'balanced')
    const mail2 = recorder('mailer', 'balanced')
    const audit = recorder('audit', 'balanced')
    await node(hub, 'users', { services: [users] })
    await node(hub, 'orders', { services: [orders] })
    await node(hub, 'm1', { services: [mail1.service] })
    await node(hub, 'm2', { services: [mail2.service] })
    await node(hub, 'audit', { services: [audit.service] })
    const caller = await node(hub, 'caller')
    for (let i = 0; i < 4; i++) await caller.client<OrdersService>('orders').place({ userId: '1', total: 3 })
    await expect.poll(() => audit.received.length).toBe(4)
    await expect.poll(() => mail1.received.length + mail2.received.length).toBe(4)
    expect(mail1.received.length).toBe(2)
  })

  it('delivers a broadcast event to every instance', async () => {
    const hub = new InProcessHub()
    const c1 = recorder('cache', 'broadcast')
    const c2 = recorder('cache', 'broadcast')
    await node(hub, 'users', { services: [users] })
    await node(hub, 'orders', { services: [orders] })
    await node(hub, 'c1', { services: [c1.service] })
    await node(hub, 'c2', { services: [c2.service] })
    const caller = await node(hub, 'caller')
    await caller.client<OrdersService>('orders').place({ userId: '2', total: 1 })
    await expect.poll(() => [c1.received.length, c2.received.length]).toEqual([1, 1])
  })

  it('rejects an event payload that breaks its schema before it leaves', async () => {
    const bad = defineService({
      name: 'bad-emitter',
      events: { 'thing.done': T.Object({ n: T.Number() }) },
      actions: ({ action }) => ({
        go: action({
          input: T.Object({}),
          output: T.Null(),
          handler: async (_i, ctx) => {
            await ctx.emit('thing.done', { n: 'x' as unknown as number })
            return null
          },
        }),
      }),
    })
    const s = await system({ services: [bad] })
    const err = await rejection(s.client<typeof bad>('bad-emitter').go({}))
    expect(err.code).toBe('VALIDATION')
    expect(err.message).toContain('/n')
  })

  it('adds and removes a service on a running node', async () => {
    const hub = new InProcessHub()
    const host = await node(hub, 'host')
    const caller = await node(hub, 'caller')
    await host.addService(users)
    await caller.waitFor(['users'], 1_000)
    expect(await caller.client<UsersService>('users').get({ id: '1' })).toMatchObject({ name: 'Ada' })
    await host.removeService('users')
    const err = await rejection(caller.client<UsersService>('users').get({ id: '1' }))
    expect(err.code).toBe('UNAVAILABLE')
  })

  it('lets in-flight calls finish when a node stops', async () => {
    const s = await system({ services: [users] })
    s.inject('users.get', { kind: 'delay', ms: 80 }, 1)
    const pending = s.client<UsersService>('users').get({ id: '1' })
    await new Promise((r) => setTimeout(r, 10))
    await s.brokers.get('users')!.stop()
    expect(await pending).toEqual({ id: '1', name: 'Ada' })
  })

  it('replaces a dependency with a typed fake', async () => {
    const s = await system({
      services: [
        orders,
        fakeService<UsersService>('users', { get: ({ id }) => ({ id, name: `fake-${id}` }) }),
      ],
    })
    expect(await s.client<OrdersService>('orders').place({ userId: '5', total: 2 })).toMatchObject({
      userName: 'fake-5',
    })
  })
})
