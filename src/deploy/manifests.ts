import type { UnitSpec } from '../runtime/config/index.ts'
import { DATA_DIR, HEALTH_PORT, IMAGE_UID } from './containerfile.ts'
import type { DeployPlan } from './deploy-plan.ts'

/** One Kubernetes object, as plain data (validated in tests against the official schemas). */
export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string } } & Record<
  string,
  unknown
>

/** Where a unit's `/data` lives. Default `emptyDir` (lost with the pod: state belongs in a database). */
export type DataVolume =
  | { kind: 'emptyDir' }
  | { kind: 'persistentVolumeClaim'; claimName: string }
  /** A folder of the node (single-node clusters, `podman kube play`): every pod of the system shares it. */
  | { kind: 'hostPath'; path: string }

export interface ManifestOptions {
  /** The image of a unit (`imageName(system, unit)` for what `tessera build image` made). */
  image(unit: string): string
  /** Kubernetes namespace of every object; none set = the one `kubectl apply` uses. */
  namespace?: string
  dataVolume?: DataVolume
  /** How long preStop waits before SIGTERM, so endpoints stop sending new connections first. Default 5 s. */
  preStopSeconds?: number
  /** CPU request of a container whose unit has no `cpus` (with `cpus`, request = limit = it). Default `100m`. */
  cpuRequest?: string
  imagePullPolicy?: 'IfNotPresent' | 'Always' | 'Never'
}

/**
 * The manifests of one unit, in apply order: its ConfigMap (the config's `env`, the NATS
 * servers and, with `listen`, `PORT`/`HOST`), its Deployment, a Service when it has
 * `listen`, a PodDisruptionBudget when it runs at all, and an autoscaler when the config
 * asks for one. Secrets are only referred to (optional Secrets `<system>` and
 * `<system>-<unit>`, as environment): no secret value is ever in a manifest.
 */
export function unitManifests(plan: DeployPlan, unit: UnitSpec, options: ManifestOptions): KubeObject[] {
  const name = `${plan.system}-${unit.name}`
  const labels = labelsOf(plan, unit)
  const meta = (n: string) => ({
    name: n,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    labels,
  })
  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(name), data: configData(plan, unit) },
    deployment(plan, unit, options, meta(name)),
  ]
  if (unit.listen)
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(name),
      spec: {
        type: 'ClusterIP',
        selector: selectorOf(plan, unit),
        ports: [{ name: 'listen', port: unit.listen.port, targetPort: 'listen', protocol: 'TCP' }],
      },
    })
  if (unit.instances > 0)
    objects.push({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(name),
      // One pod at a time: with one replica a drain may still take it (a minAvailable of 1
      // would block node drains forever), with more the others keep serving.
      spec: { maxUnavailable: 1, selector: { matchLabels: selectorOf(plan, unit) } },
    })
  const hpa = autoscaler(unit, meta(name))
  if (hpa) objects.push(hpa)
  return objects
}

/**
 * A HorizontalPodAutoscaler for a unit that autoscales. The config has no autoscaling
 * settings yet, so there is none; when it gets them (min, max, a CPU or request-rate
 * target), this is where the `autoscaling/v2` object is made, and the Deployment's
 * `replicas` becomes the minimum.
 */
function autoscaler(_unit: UnitSpec, _meta: KubeObject['metadata']): KubeObject | undefined {
  return undefined
}

function configData(plan: DeployPlan, unit: UnitSpec): Record<string, string> {
  return {
    ...unit.env,
    TESSERA_NATS_URL: plan.transport.servers.join(','),
    // An adapter with `listen` gets no shared socket in a container: it listens here itself.
    ...(unit.listen ? { PORT: String(unit.listen.port), HOST: '0.0.0.0' } : {}),
  }
}

function deployment(
  plan: DeployPlan,
  unit: UnitSpec,
  options: ManifestOptions,
  metadata: KubeObject['metadata'],
): KubeObject {
  const t = plan.timings
  const preStopSeconds = options.preStopSeconds ?? 5
  // preStop, then SIGTERM: the broker drains (timeoutMs, then graceMs for late replies);
  // the kubelet's SIGKILL comes only after all of that and a margin.
  const graceSeconds = preStopSeconds + Math.ceil((t.drainTimeoutMs + t.drainGraceMs) / 1000) + 5
  const probe = (path: string) => ({ httpGet: { path, port: 'health' }, timeoutSeconds: 1 })
  const periodSeconds = Math.max(1, Math.round(t.pingIntervalMs / 1000))
  const secret = (name: string) => ({ secretRef: { name, optional: true } })
  const container = {
    name: unit.name,
    image: options.image(unit.name),
    imagePullPolicy: options.imagePullPolicy ?? 'IfNotPresent',
    ports: [
      { name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' },
      ...(unit.listen ? [{ name: 'listen', containerPort: unit.listen.port, protocol: 'TCP' }] : []),
    ],
    envFrom: [{ configMapRef: { name: metadata.name } }, secret(plan.system), secret(metadata.name)],
    resources: resourcesOf(unit, options),
    // Up to readyTimeoutMs to start, as under the supervisor; liveness only after that.
    startupProbe: {
      ...probe('/readyz'),
      periodSeconds: 1,
      failureThreshold: Math.max(1, Math.ceil(t.readyTimeoutMs / 1000)),
    },
    readinessProbe: { ...probe('/readyz'), periodSeconds: 2, failureThreshold: 1 },
    // The supervisor's ping: every pingIntervalMs, dead after pingTimeoutMs without an answer.
    livenessProbe: {
      ...probe('/healthz'),
      periodSeconds,
      failureThreshold: Math.max(1, Math.ceil(t.pingTimeoutMs / (periodSeconds * 1000))),
    },
    lifecycle: {
      preStop: {
        exec: { command: ['node', '-e', `setTimeout(() => {}, ${preStopSeconds * 1000})`] },
      },
    },
    securityContext: {
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { name: 'data', mountPath: DATA_DIR },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: unit.instances,
      selector: { matchLabels: selectorOf(plan, unit) },
      // A new pod is ready before an old one goes: a rollout never lowers capacity.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labelsOf(plan, unit) },
        spec: {
          terminationGracePeriodSeconds: graceSeconds,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: IMAGE_UID,
            runAsGroup: IMAGE_UID,
            fsGroup: IMAGE_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [container],
          volumes: [dataVolumeOf(options.dataVolume), { name: 'tmp', emptyDir: {} }],
        },
      },
    },
  }
}

function resourcesOf(unit: UnitSpec, options: ManifestOptions): Record<string, Record<string, string>> {
  // memoryMb and cpus are hard limits under the runtime (a cgroup, podman's --memory and
  // --cpus): the same here, requested in full so the scheduler places what the limit allows.
  const cpu = unit.cpus !== undefined ? millicores(unit.cpus) : (options.cpuRequest ?? '100m')
  const memory = unit.memoryMb !== undefined ? `${unit.memoryMb}Mi` : undefined
  const limits = {
    ...(unit.cpus !== undefined ? { cpu } : {}),
    ...(memory ? { memory } : {}),
  }
  return {
    requests: { cpu, ...(memory ? { memory } : {}) },
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  }
}

/** Cores as Kubernetes quantities: 0.25 → `250m`, 2 → `2000m` (the config allows 0.01, i.e. `10m`). */
function millicores(cpus: number): string {
  return `${Math.round(cpus * 1000)}m`
}

function dataVolumeOf(volume: DataVolume = { kind: 'emptyDir' }): Record<string, unknown> {
  switch (volume.kind) {
    case 'emptyDir':
      return { name: 'data', emptyDir: {} }
    case 'persistentVolumeClaim':
      return { name: 'data', persistentVolumeClaim: { claimName: volume.claimName } }
    case 'hostPath':
      return { name: 'data', hostPath: { path: volume.path, type: 'Directory' } }
  }
}

function selectorOf(plan: DeployPlan, unit: UnitSpec): Record<string, string> {
  return { 'app.kubernetes.io/part-of': plan.system, 'app.kubernetes.io/name': unit.name }
}

function labelsOf(plan: DeployPlan, unit: UnitSpec): Record<string, string> {
  return { ...selectorOf(plan, unit), 'app.kubernetes.io/managed-by': 'tessera' }
}
