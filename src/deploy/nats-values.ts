import type { DeployPlan } from './deploy-plan.ts'

/**
 * Values for the official NATS Helm chart, version 1.x (https://github.com/nats-io/k8s, chart `nats`):
 * a three-node cluster, the transport's only server. Tessera uses core NATS
 * (request/reply and subjects per service), so JetStream stays off. Install it as release
 * `nats` for the default `nats://nats:4222`:
 *
 *   helm repo add nats https://nats-io.github.io/k8s/helm/charts/
 *   helm install nats nats/nats -f nats-values.yaml
 *
 * Server logins are not set here: add the chart's `config.merge.authorization` block
 * with `tessera nats-config`'s users and give each unit its login in its Secret.
 */
export function natsHelmValues(plan: DeployPlan): Record<string, unknown> {
  return {
    config: {
      cluster: { enabled: true, replicas: 3 },
      jetstream: { enabled: false },
    },
    podTemplate: {
      merge: { metadata: { labels: { 'app.kubernetes.io/part-of': plan.system } } },
    },
    // One NATS pod at a time during node drains, like the units.
    podDisruptionBudget: { enabled: true },
  }
}
