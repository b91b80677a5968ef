export {
  type ContainerLauncher,
  type ContainerLauncherOptions,
  containerLauncher,
  SYSTEM_LABEL,
} from './container-launcher.ts'
export type {
  InstanceLauncher,
  InstanceState,
  LaunchedInstance,
  LaunchRequest,
  Timing,
} from './instance-launcher.ts'
export { type ProcessLauncherOptions, processLauncher } from './process-launcher.ts'
