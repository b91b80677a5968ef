import type { ServiceContract } from '../../contract/index.ts'
import type { NodeCredential } from '../../identity/index.ts'
import type { MetricsSnapshot } from '../../metrics/index.ts'
import type { SpanRecord } from '../../tracing/index.ts'
import type { NatsCredentials } from '../../transport/nats/index.ts'
import type { ResolvedTransport } from '../config/index.ts'

/** What the supervisor tells an instance, in TESSERA_INSTANCE (JSON). */
export interface InstanceEnv {
  nodeId: string
  services: { name: string; entry: string; export?: string }[]
  /** Services this instance calls: it waits to see them before taking traffic. */
  needs: string[]
  transport: ResolvedTransport
  drainTimeoutMs: number
  drainGraceMs: number
  readyTimeoutMs: number
  /**
   * True when the supervisor holds a credential for this instance: the instance asks for
   * it over IPC (`credential?`) before it joins. It never travels in the environment,
   * which other processes of the same user can read (/proc/<pid>/environ).
   */
  identity?: boolean
  /** The unit's shared listening socket, inherited as this file descriptor (config `listen`). */
  listen?: { fd: number; host: string; port: number }
  /** False when the system turned per-action call metrics off (config `metrics.calls`). */
  callMetrics?: false
  /** Tracing of this system (config `tracing`); finished spans go to the supervisor as `spans`. */
  tracing?: { sampleRatio: number; otlpEndpoint?: string }
  /**
   * Describe, do not run: load the entries, send their contracts (`contract`) and exit,
   * joining nothing and running no `started` hook (the contract check of a deploy).
   */
  describe?: boolean
}

/** Supervisor → instance, over the IPC channel. */
export type ToInstance =
  | { type: 'ping'; n: number }
  | { type: 'drain' }
  /** Asks for the instance's metrics; answered by `metrics` with the same `n`. */
  | { type: 'metrics?'; n: number }
  | { type: 'credential'; credential: NodeCredential; natsLogin?: NatsCredentials }

/** Instance → supervisor, over the IPC channel. */
export type FromInstance =
  | { type: 'ready'; services: { name: string; version: string }[]; adapters?: string[] }
  | {
      type: 'pong'
      n: number
      handled: number
      inFlight: number
      /** `process.cpuUsage()` user + system, µs, and `process.uptime()` in ms: CPU % when /proc cannot be read. */
      cpuMicros?: number
      uptimeMs?: number
      rssBytes?: number
    }
  | { type: 'metrics'; n: number; metrics: MetricsSnapshot }
  | { type: 'failed'; message: string }
  | { type: 'credential?' }
  /** Finished spans, batched, for the supervisor's trace store. */
  | { type: 'spans'; spans: SpanRecord[] }
  /** In describe mode: the contracts of the services the entries define; then it exits. */
  | { type: 'contract'; services: ServiceContract[] }

export const INSTANCE_ENV = 'TESSERA_INSTANCE'
