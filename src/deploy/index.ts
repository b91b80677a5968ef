/**
 * Containers and Kubernetes for a system: `tessera build image` (one OCI image per unit,
 * built with podman) and `tessera build k8s` (Deployments, Services, disruption budgets,
 * ConfigMaps, NATS chart values). See docs/kubernetes.md.
 */
export { type BuildImagesOptions, type BuiltImage, buildImages, imageName } from './build-image.ts'
export { DATA_DIR, HEALTH_PORT, IMAGE_UID } from './containerfile.ts'
export { DEPLOY_STATE_KEY, type DeployPlan, deployPlan } from './deploy-plan.ts'
export { type DataVolume, type KubeObject, type ManifestOptions, unitManifests } from './manifests.ts'
export { natsHelmValues } from './nats-values.ts'
export {
  type SystemManifests,
  type SystemManifestsOptions,
  systemManifests,
  writeManifests,
} from './write-manifests.ts'
export { toYaml } from './yaml.ts'
