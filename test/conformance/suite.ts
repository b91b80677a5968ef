/**
 * The transport conformance suite: the same behaviour, checked through the broker,
 * on every transport. A transport passes when every test here passes against it.
 * Each test gets a fresh, isolated network (its own hub, socket dir or NATS namespace).
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Broker, createBroker } from '../../src/broker/index.ts'
import type { AnyService } from '../../src/contract/index.ts'
import type { Transport } from '../../src/transport/index.ts'
import { rejection } from '../support/rejection.ts'
import { type EchoService, echoService, type ListenerService, listenerService } from './services.ts'
import type { TransportSpec } from './transports.ts'

export interface ConformanceNetwork {
  transport(): Transport
  /** How a child process joins this network; undefined when the transport is in-process only. */
  spec: TransportSpec | undefined
  /** Makes a node vanish without a goodbye, for transports without processes (the in-process hub). */
  crash?(nodeId: string): void
  close(): Promise<void>
}

export interface ConformanceTarget {
  name: string
  network(): Promise<ConformanceNetwork>
  /** Called once for the whole file (e.g. start a nats-server). */
  setup?(): Promise<void>
  teardown?(): Promise<void>
}

const here = dirname(fileURLToPath(import.meta.url))

interface Peer {
  nodeId: string
  kill(signal: NodeJS.Signals): Promise<void>
}

export function describeTransportConformance(
  target: ConformanceTarget,
  hooks: { beforeAll: (fn: () => Promise<void>) => void; afterAll: (fn: () => Promise<void>) => void },
): void {
  describe(`transport conformance: ${target.name}`, () => {
    let net: ConformanceNetwork
    const brokers: Broker[] = []
    const peers: Peer[] = []

    hooks.beforeAll(async () => {
      await target.setup?.()
    })
    hooks.afterAll(async () => {
      await target.teardown?.()
    })
    beforeEach(async () => {
      net = await target.network()
    })
    afterEach(async () => {
      for (const p of peers.splice(0)) await p.kill('SIGKILL')
      await Promise.all(brokers.splice(0).map((b) => b.stop()))
      await net.close()
    })

    async function node(nodeId: string, services: AnyService[] = []): Promise<Broker> {
      // A short drain: some tests leave handlers hanging on purpose.
      const broker = createBroker({
        nodeId,
        services,
        transport: net.transport(),
        drainGraceMs: 50,
        drainTimeoutMs: 500,
      })
      brokers.push(broker)
      await broker.start()
      return broker
    }

    async function spawnPeer(nodeId: string): Promise<Peer> {
      const spec = net.spec
      if (!spec) throw new Error('no child processes on this transport')
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(here, 'peer.ts'), JSON.stringify(spec), nodeId],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      )
      const exited = once(child, 'exit')
      const ready = new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve())
        child.once('exit', (code) => reject(new Error(`peer ${nodeId} exited with ${code} before ready`)))
      })
      const peer: Peer = {
        nodeId,
        async kill(signal) {
          if (child.exitCode !== null || child.signalCode !== null) return
          child.kill(signal)
          await exited
        },
      }
      peers.push(peer)
      await ready
      return peer
    }

    /** A peer that can vanish abruptly: a real process SIGKILLed, or an in-process node crashed. */
    async function crashablePeer(nodeId: string): Promise<{ crash(): Promise<void> }> {
      if (net.spec) {
        const peer = await spawnPeer(nodeId)
        return { crash: () => peer.kill('SIGKILL') }
      }
      await node(nodeId, [echoService(nodeId)])
      return { crash: async () => net.crash?.(nodeId) }
    }

    it('answers a request with its reply, structured data intact', async () => {
      await node('server', [echoService('server')])
      const caller = await node('caller')
      await caller.waitFor(['echo'])
      const data = {
        s: 'héllo ✓',
        n: 42,
        f: 1.5,
        neg: -7,
        big: 2 ** 40,
        t: true,
        nil: null,
        list: [1, 'two', { three: 3 }],
      }
      expect(await caller.client<EchoService>('echo').echo({ data })).toEqual({ data })
    })

    it('carries error codes, messages and data back to the caller', async () => {
      await node('server', [echoService('server')])
      const caller = await node('caller')
      await caller.waitFor(['echo'])
      const err = await rejection(
        caller
          .client<EchoService>('echo')
          .fail({ code: 'CONFLICT', data: { id: 'x', nested: { list: [1, 2] } } }),
      )
      expect(err.code).toBe('CONFLICT')
      expect(err.message).toBe('asked to fail with CONFLICT')
      expect(err.data).toEqual({ id: 'x', nested: { list: [1, 2] } })
      const invalid = await rejection(caller.call('echo', 'wait', { ms: 'soon', tag: 'x' }))
      expect(invalid.code).toBe('VALIDATION')
      expect(invalid.data).toMatchObject({ errors: [{ path: '/ms' }] })
    })

    it('times out at the deadline and aborts the remote handler', async () => {
      await node('server', [echoService('server')])
      const caller = await node('caller')
      await caller.waitFor(['echo'])
      const echo = caller.client<EchoService>('echo')
      const err = await rejection(echo.wait({ ms: 10_000, tag: 'slow' }, { timeout: 100 }))
      expect(err.code).toBe('TIMEOUT')
      await expect.poll(() => echo.aborts({}), { timeout: 5_000 }).toContain('slow')
    })

    it('cancels through an AbortSignal and aborts the remote handler', async () => {
      await node('server', [echoService('server')])
      const caller = await node('caller')
      await caller.waitFor(['echo'])
      const echo = caller.client<EchoService>('echo')
      const controller = new AbortController()
      const failed = rejection(echo.wait({ ms: 10_000, tag: 'cancelled' }, { signal: controller.signal }))
      setTimeout(() => controller.abort(), 50)
      expect((await failed).code).toBe('CANCELLED')
      await expect.poll(() => echo.aborts({}), { timeout: 5_000 }).toContain('cancelled')
    })

    it('delivers balanced events once per subscribing service and broadcast events to every instance', async () => {
      await node('emitter', [echoService('emitter')])
      await node('b1', [
        listenerService('balanced', 'balanced', 'b1'),
        listenerService('everyone', 'broadcast', 'e1'),
      ])
      await node('b2', [
        listenerService('balanced', 'balanced', 'b2'),
        listenerService('everyone', 'broadcast', 'e2'),
      ])
      const caller = await node('caller')
      await caller.waitFor(['echo', 'balanced', 'everyone'])
      const ns = [1, 2, 3, 4, 5, 6]
      for (const n of ns) await caller.client<EchoService>('echo').emit({ n })
      const seenBy = async (name: string, nodes: string[]) => {
        const all: number[] = []
        for (const nodeId of nodes) {
          const b = brokers.find((x) => x.nodeId === nodeId)!
          all.push(...(await b.client<ListenerService>(name).seen({})).seen)
        }
        return all.sort((a, b) => a - b)
      }
      // Each balanced event reached exactly one instance; together they saw each event once.
      await expect.poll(() => seenBy('balanced', ['b1', 'b2']), { timeout: 5_000 }).toEqual(ns)
      await expect.poll(() => seenBy('everyone', ['b1']), { timeout: 5_000 }).toEqual(ns)
      await expect.poll(() => seenBy('everyone', ['b2']), { timeout: 5_000 }).toEqual(ns)
    })

    it('carries payloads from zero bytes to 8 MB', async () => {
      await node('server', [echoService('server')])
      const caller = await node('caller')
      await caller.waitFor(['echo'])
      for (const size of [0, 1, 1_024, 1_048_576, 8 * 1_048_576]) {
        const data = new Uint8Array(size)
        for (let i = 0; i < size; i += 4093) data[i] = i % 251
        const out = await caller.client<EchoService>('echo').bytes({ data }, { timeout: 30_000 })
        expect(out.length).toBe(size)
        expect(Buffer.from(out.data).equals(Buffer.from(data))).toBe(true)
      }
    })

    it('answers thousands of concurrent calls, each with its own reply', async () => {
      await node('server', [echoService('server')])
      const caller = await node('caller')
      await caller.waitFor(['echo'])
      const echo = caller.client<EchoService>('echo')
      const results = await Promise.all(
        Array.from({ length: 3_000 }, (_, i) => echo.echo({ data: i }, { timeout: 30_000 })),
      )
      expect(results.map((r) => r.data)).toEqual(Array.from({ length: 3_000 }, (_, i) => i))
    })

    it('balances across instances that join, and loses no call when one leaves gracefully', async () => {
      const a = await node('a', [echoService('a')])
      const caller = await node('caller')
      await caller.waitFor(['echo'])
      const echo = caller.client<EchoService>('echo')
      expect(await echo.whoami({})).toBe('a')
      await node('b', [echoService('b')])
      await expect
        .poll(async () => new Set(await Promise.all([1, 2, 3, 4].map(() => echo.whoami({})))).size, {
          timeout: 5_000,
        })
        .toBe(2)
      // Calls keep flowing while `a` drains and leaves: none may fail.
      let stop = false
      const failures: unknown[] = []
      const load = (async () => {
        while (!stop) await echo.wait({ ms: 5, tag: 'load' }).catch((e: unknown) => failures.push(e))
      })()
      const load2 = (async () => {
        while (!stop) await echo.hold({ ms: 5 }).catch((e: unknown) => failures.push(e))
      })()
      await new Promise((r) => setTimeout(r, 100))
      await a.stop()
      await new Promise((r) => setTimeout(r, 100))
      stop = true
      await Promise.all([load, load2])
      expect(failures).toEqual([])
      expect(await echo.whoami({})).toBe('b')
    })

    it('fails a call in flight to a peer killed mid-call with UNAVAILABLE, well before its deadline', async () => {
      const peer = await crashablePeer('victim')
      const caller = await node('caller')
      await caller.waitFor(['echo'])
      const started = Date.now()
      const failed = rejection(caller.client<EchoService>('echo').hold({ ms: 30_000 }, { timeout: 60_000 }))
      await new Promise((r) => setTimeout(r, 100))
      await peer.crash()
      const err = await failed
      expect(err.code).toBe('UNAVAILABLE')
      expect(Date.now() - started).toBeLessThan(30_000)
    })

    it('retries idempotent calls in flight to a killed peer on another instance', async () => {
      const peer = await crashablePeer('victim')
      await node('survivor', [echoService('survivor')])
      const caller = await node('caller')
      await caller.waitFor(['echo'])
      const echo = caller.client<EchoService>('echo')
      await expect
        .poll(async () => new Set(await Promise.all([1, 2, 3, 4].map(() => echo.whoami({})))).size)
        .toBe(2)
      const calls = Array.from({ length: 20 }, (_, i) =>
        echo.wait({ ms: 300, tag: `t${i}` }, { timeout: 20_000 }),
      )
      await new Promise((r) => setTimeout(r, 50))
      await peer.crash()
      const answers = await Promise.all(calls)
      expect(answers.every((who) => who === 'survivor' || who === 'victim')).toBe(true)
      expect(answers.filter((who) => who === 'survivor').length).toBeGreaterThanOrEqual(10)
    })
  })
}
