/**
 * Helpers for this folder's tests (not exported from the package): temp dirs, a
 * recording TransportHandlers and Logger, and polling.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach } from 'vitest'
import type { Logger } from '../../observability/index.ts'
import type { Message, NodeInfo, WireContext } from '../../wire/index.ts'
import type { TransportHandlers } from '../transport.ts'

/** A short temp dir (Unix socket paths are limited to 107 bytes); remove it with `rm`. */
export function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tsk-'))
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true })
}

export function info(nodeId: string, seq = 1): NodeInfo {
  return {
    nodeId,
    seq,
    services: [{ name: 'math', version: '1.0.0', actions: { add: { idempotent: true } }, subscriptions: {} }],
    meta: { pid: process.pid },
  }
}

export const ctx: WireContext = { requestId: 'r-1', traceparent: '00-aa-bb-01', timeout: 1000 }

export interface Recorder extends TransportHandlers {
  messages: Array<{ from: string; message: Message }>
  peers: NodeInfo[]
  gone: Array<{ nodeId: string; reason: string }>
}

export function recorder(): Recorder {
  const r: Recorder = {
    messages: [],
    peers: [],
    gone: [],
    onMessage: (from, message) => r.messages.push({ from, message }),
    onPeer: (i) => r.peers.push(i),
    onPeerGone: (nodeId, reason) => r.gone.push({ nodeId, reason }),
  }
  return r
}

export interface LogRecorder extends Logger {
  warnings: Array<{ obj: object; msg: string | undefined }>
}

export function logRecorder(): LogRecorder {
  const log: LogRecorder = {
    warnings: [],
    debug() {},
    info() {},
    warn: (obj, msg) => log.warnings.push({ obj, msg }),
    error() {},
    child: () => log,
  }
  return log
}

/** Polls `check` until it returns true; rejects with `what` after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/**
 * For the tests of one file: a fresh short temp dir per test (`dir`), and `cleanups`
 * run newest first after each test, before the dir is removed.
 */
export function perTestDir(): { readonly dir: string; readonly cleanups: Array<() => unknown> } {
  const state = { dir: '', cleanups: [] as Array<() => unknown> }
  beforeEach(async () => {
    state.dir = await tempDir()
  })
  afterEach(async () => {
    for (const c of state.cleanups.splice(0).reverse()) await c()
    await removeDir(state.dir)
  })
  return state
}

/** `body` as it travels on a connection: a 4-byte big-endian length, then the body. */
export function frame(body: Uint8Array): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt32BE(body.length)
  return Buffer.concat([head, body])
}
