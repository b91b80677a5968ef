import type { DeployPlan } from './deploy-plan.ts'

/**
 * Values for the official NATS Helm chart, version 1.x (https://github.com/nats-io/k8s, chart `nats`):
 * a three-node cluster with JetStream on a 10 GiB volume per node, for durable events
 * (decision 0024; calls and plain events are core NATS). Install it as release `nats` for
 * the default `nats://nats:4222`:
 *
 *   helm repo add nats https://nats-io.github.io/k8s/helm/charts/
 *   helm install nats nats/nats -f nats-values.yaml
 *
 * Server logins are not set here: `tessera build secrets` writes them as a second values
 * file (`nats-values-authorization.yaml`: the chart's `config.merge.authorization`), and
 * each unit's login goes in its Secret.
 */
export function natsHelmValues(plan: DeployPlan): Record<string, unknown> {
  return {
    config: {
      cluster: { enabled: true, replicas: 3 },
      jetstream: { enabled: true, fileStore: { enabled: true, pvc: { enabled: true, size: '10Gi' } } },
    },
    podTemplate: {
      merge: { metadata: { labels: { 'app.kubernetes.io/part-of': plan.system } } },
    },
    // One NATS pod at a time during node drains, like the units.
    podDisruptionBudget: { enabled: true },
  }
}
