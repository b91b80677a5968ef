export type {
  InstanceLauncher,
  InstanceState,
  LaunchedInstance,
  LaunchRequest,
  Timing,
} from './instance-launcher.ts'
export { type ProcessLauncherOptions, processLauncher } from './process-launcher.ts'
