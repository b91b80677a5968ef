import { type Static, Type as T } from '@sinclair/typebox'
import { AutoscaleConfig } from './autoscale-config.ts'
import { PlacementConfig } from './placement-config.ts'

const Name = T.String({ pattern: '^[a-z][a-z0-9-]*$', description: 'lowercase letters, digits, dashes' })
const PositiveInt = T.Integer({ minimum: 1 })
/** Cores, as podman's `--cpus` takes them: 0.01 is a 1 ms quota in its 100 ms period, the least the kernel takes. */
const CpuCount = T.Number({ minimum: 0.01, description: 'cores, at least 0.01' })

export const SocketTransportConfig = T.Object(
  {
    kind: T.Literal('socket'),
    /** Discovery directory shared by every instance; default a short path under the OS temp dir. */
    dir: T.Optional(T.String({ minLength: 1 })),
  },
  { additionalProperties: false },
)

export const NatsTransportConfig = T.Object(
  {
    kind: T.Literal('nats'),
    servers: T.Union([T.String({ minLength: 1 }), T.Array(T.String({ minLength: 1 }), { minItems: 1 })]),
    credentials: T.Optional(
      T.Union([
        T.Object({ user: T.String(), pass: T.String() }, { additionalProperties: false }),
        T.Object({ token: T.String() }, { additionalProperties: false }),
        T.Object({ credsFile: T.String() }, { additionalProperties: false }),
      ]),
    ),
  },
  { additionalProperties: false },
)

export const TransportConfig = T.Union([SocketTransportConfig, NatsTransportConfig])

export const ServiceConfig = T.Object(
  {
    /**
     * Module whose default export (or `export`) is the ServiceDefinition, or an adapter
     * (`defineAdapter`, e.g. the HTTP gateway); relative to the system root.
     */
    entry: T.String({ minLength: 1 }),
    /** Named export holding the definition. Default: `default`, else the export named like the service. */
    export: T.Optional(T.String({ minLength: 1 })),
    /** Processes running this service (ignored for grouped services: the group's count applies). Default 1. */
    instances: T.Optional(T.Integer({ minimum: 0, maximum: 64 })),
    /** Instances added and removed with the load, within bounds (a grouped service sets it on its group). */
    autoscale: T.Optional(AutoscaleConfig),
    /** Hosts that may run it when the system runs over many (docs/hosts.md). Default: anywhere. Grouped: set it on the group. */
    placement: T.Optional(PlacementConfig),
    env: T.Optional(T.Record(T.String(), T.String())),
    /** Memory limit of one instance in MiB: a cgroup where writable, else the V8 heap limit. */
    memoryMb: T.Optional(T.Integer({ minimum: 16 })),
    /**
     * CPU limit of one instance, in cores (0.5 = half of one): podman `--cpus` for a
     * container, a cgroup v1 CPU quota for a process where writable, `resources.limits.cpu`
     * in Kubernetes. At least 0.01, at most the cores of this machine (checked by
     * `defineSystem`). Grouped: the members' add up, unless the group sets its own.
     */
    cpus: T.Optional(CpuCount),
    /** Services that must be ready before this one starts. */
    dependsOn: T.Optional(T.Array(Name)),
    /** `own-folder`: Node's permission model limits file access to the entry's folder (and the code it needs). */
    permissions: T.Optional(T.Union([T.Literal('all'), T.Literal('own-folder')])),
    /**
     * How each instance runs: `process` (default), a child process of the supervisor;
     * `container`, a podman container of its own (docs/runtime.md, decision 0025).
     */
    isolation: T.Optional(T.Union([T.Literal('process'), T.Literal('container')])),
    /**
     * A TCP socket the supervisor binds once (for the system's life) and shares with every
     * instance of the unit: they all accept on it (the kernel spreads connections), and a
     * restart or deploy never closes it. Port 0 picks a free one (`supervisor.address(unit)`).
     */
    listen: T.Optional(
      T.Object(
        {
          port: T.Integer({ minimum: 0, maximum: 65535 }),
          /** Default 127.0.0.1. */
          host: T.Optional(T.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

export const GroupConfig = T.Object(
  {
    /** Services hosted together in one process (monolith mode). */
    services: T.Array(Name, { minItems: 1 }),
    instances: T.Optional(T.Integer({ minimum: 0, maximum: 64 })),
    autoscale: T.Optional(AutoscaleConfig),
    placement: T.Optional(PlacementConfig),
    /**
     * How each instance runs: `process` (default), a child process of the supervisor;
     * `container`, a podman container of its own (docs/runtime.md, decision 0025).
     */
    isolation: T.Optional(T.Union([T.Literal('process'), T.Literal('container')])),
    /** CPU limit of one instance of the group, in cores; default the members' `cpus` added up. */
    cpus: T.Optional(CpuCount),
  },
  { additionalProperties: false },
)

export const SystemConfig = T.Object(
  {
    /** Names the system: NATS namespace, socket directory, state files. */
    name: T.String({ pattern: '^[a-z][a-z0-9-]*$' }),
    transport: T.Optional(TransportConfig),
    services: T.Record(Name, ServiceConfig),
    groups: T.Optional(T.Record(Name, GroupConfig)),
    /**
     * Bundle each unit with esbuild before starting it and run the bundle with plain Node
     * (default true); false runs the TypeScript entries through tsx in every instance.
     */
    build: T.Optional(T.Boolean()),
    /** Logs and the control state file; relative to the root. Default `.tessera`. */
    stateDir: T.Optional(T.String({ minLength: 1 })),
    control: T.Optional(T.Object({ port: T.Optional(T.Integer({ minimum: 0, maximum: 65535 })) })),
    restart: T.Optional(
      T.Object(
        {
          /** Delay after a lone crash (the first within the window). Default 0: restart at once. */
          firstDelayMs: T.Optional(T.Integer({ minimum: 0 })),
          /** Backoff from the second crash within the window, doubling up to `maxDelayMs`. Default 100 ms. */
          baseDelayMs: T.Optional(PositiveInt),
          maxDelayMs: T.Optional(PositiveInt),
          /** This many crashes within `windowMs` is a crash loop: restarts stop. Default 5 in 30 000 ms. */
          crashLoopCrashes: T.Optional(PositiveInt),
          crashLoopWindowMs: T.Optional(PositiveInt),
        },
        { additionalProperties: false },
      ),
    ),
    health: T.Optional(
      T.Object(
        {
          /** Liveness ping period over IPC. Default 1000 ms. */
          pingIntervalMs: T.Optional(PositiveInt),
          /** No answer for this long (a blocked event loop) kills the instance. Default 5000 ms. */
          pingTimeoutMs: T.Optional(PositiveInt),
          /** A new instance not ready by then has failed to start. Default 30 000 ms. */
          readyTimeoutMs: T.Optional(PositiveInt),
        },
        { additionalProperties: false },
      ),
    ),
    drain: T.Optional(
      T.Object(
        { timeoutMs: T.Optional(PositiveInt), graceMs: T.Optional(T.Integer({ minimum: 0 })) },
        { additionalProperties: false },
      ),
    ),
    metrics: T.Optional(
      T.Object(
        {
          /**
           * Per-action call metrics in every instance (`tessera_calls_total`, durations, in
           * flight; about 5–10 % of a remote call's CPU). Default true; false leaves the
           * broker uninstrumented for metrics (process metrics stay). `TESSERA_CALL_METRICS=0` overrides.
           */
          calls: T.Optional(T.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    tracing: T.Optional(
      T.Object(
        {
          /**
           * Share of new traces recorded, 0..1 (a call with a sampled parent follows it).
           * Default 0.1; 0 turns tracing off (no span is made). `TESSERA_TRACE_SAMPLE` overrides.
           */
          sampleRatio: T.Optional(T.Number({ minimum: 0, maximum: 1 })),
          /** OTLP/HTTP endpoint to export to as well; default `OTEL_EXPORTER_OTLP_ENDPOINT`. */
          otlpEndpoint: T.Optional(T.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

export type SystemConfig = Static<typeof SystemConfig>
export type ServiceConfig = Static<typeof ServiceConfig>
export type GroupConfig = Static<typeof GroupConfig>
export type TransportConfig = Static<typeof TransportConfig>
