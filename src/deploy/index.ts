/**
 * Containers and Kubernetes for a system: `tessera build image` (one OCI image per unit,
 * built with podman), `tessera build k8s` (Deployments, Services, disruption budgets,
 * ConfigMaps, NATS chart values) and `tessera build secrets` (each unit's identity and NATS
 * login for its Secret). See docs/kubernetes.md.
 */
export { type BuildImagesOptions, type BuiltImage, buildImages, imageName } from './build-image.ts'
export { DATA_DIR, HEALTH_PORT, IMAGE_UID } from './containerfile.ts'
export { DEPLOY_STATE_KEY, type DeployPlan, deployPlan } from './deploy-plan.ts'
export {
  IDENTITY_ENV,
  NKEY_SEED_ENV,
  unitIdentity,
  type WriteDeploySecretsOptions,
  writeDeploySecrets,
} from './deploy-secrets.ts'
export { type DataVolume, type KubeObject, type ManifestOptions, unitManifests } from './manifests.ts'
export { natsHelmValues } from './nats-values.ts'
export {
  type SystemManifests,
  type SystemManifestsOptions,
  systemManifests,
  writeManifests,
} from './write-manifests.ts'
export { toYaml } from './yaml.ts'
