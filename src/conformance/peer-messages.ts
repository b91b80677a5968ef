import { randomBytes } from 'node:crypto'
import type { Envelope } from '../codec/index.ts'
import type { NodeInfo, ServiceInfo, WireContext } from '../wire/index.ts'
import { CONFORMANCE_ACTIONS, CONFORMANCE_SERVICE, PROBE_SERVICE } from './environment.ts'
import { expect } from './rule-result.ts'
import type { Received } from './wire-frame.ts'

/** The service the runner hosts so the node under test can call it (`relay`). */
export const PROBE_INFO: ServiceInfo = {
  name: PROBE_SERVICE,
  version: '1.0.0',
  actions: { echo: { idempotent: true } },
  subscriptions: {},
}

/** The runner's NodeInfo as a peer named `nodeId`. */
export function runnerInfo(
  nodeId: string,
  seq: number,
  services: ServiceInfo[] = [],
  meta: Record<string, string | number> = {},
): NodeInfo {
  return { nodeId, seq, services, meta: { 'tessera.conformance': 1, ...meta } }
}

/** A fresh WireContext with a valid traceparent and `timeout` ms left. */
export function wireContext(timeout = 5000): WireContext {
  return {
    requestId: `conformance-${randomBytes(6).toString('hex')}`,
    traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
    timeout,
  }
}

let nextId = 1
/** A REQUEST to the conformance service (ids unique within the run). */
export function request(action: string, input: unknown, service = CONFORMANCE_SERVICE, timeout = 5000) {
  const msg = { kind: 'request', id: nextId++, service, action, input, ctx: wireContext(timeout) } as const
  return msg satisfies Envelope
}

/**
 * The NodeInfo the node under test sent, checked (docs/protocol.md §3.5): a message
 * Tessera's strict decoder accepts, of `kind`, for `nodeId`, hosting the conformance
 * service with all its actions. Throws naming what is wrong.
 */
export function checkNodeInfo(got: Received, kind: 'hello' | 'announce', nodeId: string): NodeInfo {
  expect(got.env, `${kind.toUpperCase()} does not decode: ${got.invalid}`)
  const env = got.env
  expect(env.kind === kind, `expected ${kind.toUpperCase()}, got ${env.kind}`)
  const info = env.info
  expect(info.nodeId === nodeId, `nodeId is ${JSON.stringify(info.nodeId)}, not ${JSON.stringify(nodeId)}`)
  expect(Number.isFinite(info.seq), 'seq is not a number')
  const service = info.services.find((s) => s.name === CONFORMANCE_SERVICE)
  expect(service, `it does not list the service ${CONFORMANCE_SERVICE}`)
  for (const action of CONFORMANCE_ACTIONS) {
    expect(service.actions[action], `service ${CONFORMANCE_SERVICE} lacks the action ${action}`)
  }
  return info
}

/** The RESPONSE to request `id` in `got`, checked to be RESPONSE_OK; returns its output. */
export function okOutput(got: Received, id: number): unknown {
  expect(got.env?.kind === 'response', `expected a RESPONSE to ${id}`)
  const env = got.env
  expect(env.id === id, `response id ${env.id}, expected ${id}`)
  expect(env.ok, `RESPONSE_ERROR ${!env.ok ? `${env.error.code}: ${env.error.message}` : ''}`)
  return env.output
}

/** The error of RESPONSE_ERROR to `id`, checked to carry `code`. */
export function errorOf(got: Received, id: number, code: string): string {
  expect(got.env?.kind === 'response', `expected a RESPONSE to ${id}`)
  const env = got.env
  expect(!env.ok, `RESPONSE_OK ${JSON.stringify(env.ok ? env.output : null)}, expected ${code}`)
  expect(env.error.code === code, `error code ${env.error.code} (${env.error.message}), expected ${code}`)
  return env.error.message
}

/** Whether `got` is the response to request `id`. */
export const isResponseTo = (id: number) => (got: Received) =>
  got.env?.kind === 'response' && got.env.id === id

/** Deep equality of plain decoded values (maps, arrays, scalars, byte arrays). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b))
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]))
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    return ka.length === kb.length && ka.every((k) => sameValue((a as never)[k], (b as never)[k]))
  }
  return Object.is(a, b)
}

/** A value with every kind the echo rule exercises. */
export const ECHO_VALUE = {
  text: 'grüße ✓',
  n: 42,
  neg: -7,
  big: 2 ** 40,
  f: 1.5,
  yes: true,
  none: null,
  list: [1, 'two', [3]],
  bytes: new Uint8Array([0, 1, 254, 255]),
}
