import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Deployment } from 'kubernetes-models/apps/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Service } from 'kubernetes-models/v1'
import { describe, expect, it } from 'vitest'
import { loadSystem, type SystemConfig } from '../runtime/index.ts'
import { type KubeObject, systemManifests, toYaml, writeManifests } from './index.ts'

/** Validates against the official Kubernetes OpenAPI schemas (kubernetes-models); throws on a violation. */
function validate(o: KubeObject): void {
  const models: Record<string, new (data: never) => { validate(): void }> = {
    'v1/ConfigMap': ConfigMap,
    'v1/Service': Service,
    'apps/v1/Deployment': Deployment,
    'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  }
  const Model = models[`${o.apiVersion}/${o.kind}`]
  if (!Model) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`)
  new Model(o as never).validate()
}

const config: SystemConfig = {
  name: 'shop',
  transport: { kind: 'nats', servers: ['nats://nats:4222', 'nats://nats-2:4222'] },
  drain: { timeoutMs: 20_000, graceMs: 500 },
  services: {
    users: { entry: './users.ts', instances: 3, memoryMb: 128, cpus: 0.25, env: { LOG_FORMAT: 'json' } },
    orders: { entry: './orders.ts', instances: 0, dependsOn: ['users'] },
    gateway: { entry: './gateway.ts', dependsOn: ['users'], listen: { port: 8080 }, cpus: 1.5 },
  },
}
const manifests = systemManifests({ config, root: '/srv/shop', tag: '1.2.0', namespace: 'shop' })
const of = (unit: string) => manifests.units.find((u) => u.unit === unit)!.objects
const deploymentOf = (unit: string) =>
  of(unit).find((o) => o.kind === 'Deployment') as unknown as {
    spec: {
      replicas: number
      strategy: unknown
      template: { spec: Record<string, unknown> & { containers: Record<string, never>[] } }
    }
  }

describe('systemManifests', () => {
  it('makes objects every one of which the Kubernetes schemas accept', () => {
    const all = manifests.units.flatMap((u) => u.objects)
    expect(all.length).toBeGreaterThan(8)
    for (const o of all) validate(o)
  })

  it('makes objects the schemas accept for the reference system too (on NATS, as its containers run)', async () => {
    const file = resolve(
      fileURLToPath(new URL('../../examples/reference/tessera.config.ts', import.meta.url)),
    )
    const before = process.env.TESSERA_TRANSPORT
    process.env.TESSERA_TRANSPORT = 'nats'
    try {
      const reference = await loadSystem(file)
      const all = systemManifests(reference).units.flatMap((u) => u.objects)
      expect(all.filter((o) => o.kind === 'Deployment')).toHaveLength(7)
      for (const o of all) validate(o)
    } finally {
      if (before === undefined) delete process.env.TESSERA_TRANSPORT
      else process.env.TESSERA_TRANSPORT = before
    }
  })

  it('rejects what the schemas reject (the check can fail)', () => {
    const broken = structuredClone(of('users').find((o) => o.kind === 'Deployment')!) as KubeObject & {
      spec: { replicas: unknown }
    }
    broken.spec.replicas = 'three'
    expect(() => validate(broken)).toThrow(/replicas/)
    const badCpu = structuredClone(of('users').find((o) => o.kind === 'Deployment')!) as KubeObject & {
      spec: { template: { spec: { containers: { resources: { limits: Record<string, unknown> } }[] } } }
    }
    badCpu.spec.template.spec.containers[0]!.resources.limits.cpu = { cores: 0.25 }
    expect(() => validate(badCpu)).toThrow(/cpu/)
  })

  it('runs the config’s replicas, rolls out without losing capacity and drains within the grace period', () => {
    const users = deploymentOf('users')
    expect(users.spec.replicas).toBe(3)
    expect(deploymentOf('orders').spec.replicas).toBe(0)
    expect(users.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    })
    // preStop 5 s, then drain 20 s + 0.5 s grace, then a margin before the kubelet's SIGKILL.
    expect(users.spec.template.spec.terminationGracePeriodSeconds).toBe(5 + 21 + 5)
    const c = users.spec.template.spec.containers[0]!
    expect(c.lifecycle).toEqual({
      preStop: { exec: { command: ['node', '-e', 'setTimeout(() => {}, 5000)'] } },
    })
    expect(c.image).toBe('localhost/shop-users:1.2.0')
  })

  it('probes the health endpoint and limits memory to memoryMb and CPU to cpus', () => {
    const c = deploymentOf('users').spec.template.spec.containers[0]! as Record<string, unknown>
    expect(c.startupProbe).toMatchObject({
      httpGet: { path: '/readyz', port: 'health' },
      failureThreshold: 30,
    })
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'health' } })
    // The supervisor's ping: every second, dead after 5 s of silence.
    expect(c.livenessProbe).toMatchObject({
      httpGet: { path: '/healthz' },
      periodSeconds: 1,
      failureThreshold: 5,
    })
    expect(c.resources).toEqual({
      requests: { cpu: '250m', memory: '128Mi' },
      limits: { cpu: '250m', memory: '128Mi' },
    })
    const resources = (unit: string) =>
      (deploymentOf(unit).spec.template.spec.containers[0] as Record<string, unknown>).resources
    // Neither limit in the config: a small CPU request for the scheduler, no limit.
    expect(resources('orders')).toEqual({ requests: { cpu: '100m' } })
    expect(resources('gateway')).toEqual({ requests: { cpu: '1500m' }, limits: { cpu: '1500m' } })
  })

  it('runs as a non-root user on a read-only root with /data and /tmp as volumes', () => {
    const pod = deploymentOf('users').spec.template.spec
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 })
    const c = pod.containers[0]! as Record<string, unknown>
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false })
    expect(c.volumeMounts).toEqual([
      { name: 'data', mountPath: '/data' },
      { name: 'tmp', mountPath: '/tmp' },
    ])
    expect(pod.volumes).toEqual([
      { name: 'data', emptyDir: {} },
      { name: 'tmp', emptyDir: {} },
    ])
  })

  it('puts env and the NATS servers in a ConfigMap and only refers to Secrets', () => {
    const configMap = of('users').find((o) => o.kind === 'ConfigMap') as unknown as { data: unknown }
    expect(configMap.data).toEqual({
      LOG_FORMAT: 'json',
      TESSERA_NATS_URL: 'nats://nats:4222,nats://nats-2:4222',
    })
    const c = deploymentOf('users').spec.template.spec.containers[0]! as Record<string, unknown>
    expect(c.envFrom).toEqual([
      { configMapRef: { name: 'shop-users' } },
      { secretRef: { name: 'shop', optional: true } },
      { secretRef: { name: 'shop-users', optional: true } },
    ])
    expect(manifests.units.flatMap((u) => u.objects).some((o) => o.kind === 'Secret')).toBe(false)
  })

  it('gives a unit with listen a Service and its PORT, every running unit a disruption budget', () => {
    expect(of('gateway').map((o) => o.kind)).toEqual([
      'ConfigMap',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
    ])
    expect(of('users').map((o) => o.kind)).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget'])
    // No pods, nothing to budget.
    expect(of('orders').map((o) => o.kind)).toEqual(['ConfigMap', 'Deployment'])
    const service = of('gateway').find((o) => o.kind === 'Service') as unknown as { spec: { ports: unknown } }
    expect(service.spec.ports).toEqual([
      { name: 'listen', port: 8080, targetPort: 'listen', protocol: 'TCP' },
    ])
    const configMap = of('gateway').find((o) => o.kind === 'ConfigMap') as unknown as { data: unknown }
    expect(configMap.data).toMatchObject({ PORT: '8080', HOST: '0.0.0.0' })
    for (const o of manifests.units.flatMap((u) => u.objects))
      expect(o.metadata).toMatchObject({ namespace: 'shop' })
  })

  it('refuses a config on the socket transport, or with a NATS password in it', () => {
    const socket = { ...config, transport: { kind: 'socket' as const } }
    expect(() => systemManifests({ config: socket, root: '/srv/shop' })).toThrow(
      /containers need the NATS transport/,
    )
    const withLogin = {
      ...config,
      transport: {
        kind: 'nats' as const,
        servers: 'nats://nats:4222',
        credentials: { user: 'u', pass: 'secret' },
      },
    }
    expect(() => systemManifests({ config: withLogin, root: '/srv/shop' })).toThrow(/Secret/)
    expect(() => systemManifests({ config, root: '/srv/shop', units: ['nope'] })).toThrow(/no unit nope/)
  })

  it('writes one YAML document per object, every string quoted', () => {
    const text = toYaml(of('gateway'))
    expect(text.split('\n---\n')).toHaveLength(4)
    // A JSON-quoted string is never read back as a number or a boolean ("8080", "true").
    expect(text).toContain('  PORT: "8080"\n')
    expect(text).toContain('kind: "Deployment"')
    expect(text).toContain('        - name: "gateway"\n')
  })

  it('writes a file per unit and the NATS chart values in a folder of their own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-k8s-'))
    try {
      const files = await writeManifests(dir, { config, root: '/srv/shop', units: ['gateway'] })
      expect(files).toEqual([join(dir, 'gateway.yaml'), join(dir, 'nats', 'values.yaml')])
      const text = readFileSync(files[0]!, 'utf8')
      expect(text).toMatch(/^# Generated by `tessera build k8s` \(unit gateway\)\.\n/)
      // It says how its Secrets are made, and holds none.
      expect(text).toContain('`tessera build secrets -o secrets`')
      expect(
        text.endsWith(
          toYaml(systemManifests({ config, root: '/srv/shop', units: ['gateway'] }).units[0]!.objects),
        ),
      ).toBe(true)
      const values = readFileSync(files[1]!, 'utf8')
      expect(values).toContain('    enabled: true\n    replicas: 3\n')
      // JetStream for durable events, on a volume per NATS node.
      expect(values).toMatch(/jetstream:\n {4}enabled: true\n {4}fileStore:/)
      expect(values).not.toContain('kind:')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
