import type { KubeObject } from '../../../src/deploy/index.ts'

interface Container {
  name: string
  ports?: { name: string; containerPort: number; hostPort?: number }[]
  startupProbe?: unknown
  readinessProbe?: unknown
  livenessProbe?: unknown
}

/**
 * The generated manifests as `podman kube play` (4.3, Debian 12) can run them; what
 * changes, and why, is exactly this:
 * - only ConfigMaps and Deployments are played (a Service, a PodDisruptionBudget have no
 *   meaning without a cluster; they are checked against the schemas instead);
 * - `ports` go, except the one published as `publish` (podman publishes every
 *   containerPort on the host, so two pods of one unit would fight for port 9000);
 * - probes go: podman runs them as healthchecks through systemd timers, which these
 *   machines lack. The test asks each container's /readyz itself (`podman exec`).
 * Everything else (images, env from the ConfigMap and the Secrets, the non-root user, the
 * read-only root, the volumes, replicas) is played as generated. The Secrets themselves are
 * not objects here: podman 4.3 does not read a played `kind: Secret` for `envFrom`, so the
 * test creates them as podman secrets in the form it reads (reference-containers.test.ts,
 * `podmanSecret`).
 */
export function forPodman(
  objects: KubeObject[],
  publish?: { container: string; port: string; hostPort: number },
): KubeObject[] {
  return objects
    .filter((o) => o.kind === 'ConfigMap' || o.kind === 'Deployment')
    .map((o) => {
      if (o.kind !== 'Deployment') return o
      const copy = structuredClone(o) as KubeObject & {
        spec: { template: { spec: { containers: Container[] } } }
      }
      for (const c of copy.spec.template.spec.containers) {
        const kept = (c.ports ?? []).filter((p) => c.name === publish?.container && p.name === publish.port)
        delete c.ports
        if (kept.length > 0) c.ports = kept.map((p) => ({ ...p, hostPort: publish!.hostPort }))
        delete c.startupProbe
        delete c.readinessProbe
        delete c.livenessProbe
      }
      return copy
    })
}
