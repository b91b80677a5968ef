export { type Autoscaler, type AutoscaleStatus, startAutoscaler } from './autoscaler.ts'
export { type AutoscaleMeasure, inFlightMeasure } from './autoscaler-measure.ts'
export {
  type ContractMismatch,
  type ContractWatch,
  type ContractWatchOptions,
  contractOfInfo,
  watchContracts,
} from './contract-watch.ts'
export { CrashHistory, defaultRestartPolicy, type RestartPolicy } from './crash-history.ts'
export { describeEvent, type Progress, type SupervisorEvent } from './events.ts'
export {
  createSupervisor,
  type Supervisor,
  type SupervisorOptions,
  type SystemStatus,
  type UnitStatus,
} from './supervisor.ts'
export type { InstanceStatus, UnitRunner, UnitState } from './unit-runner.ts'
