export { type ControlClient, type ControlLine, controlClient } from './control-client.ts'
export { type ControlServer, type ControlServerOptions, startControlServer } from './control-server.ts'
export { controlToken } from './control-token.ts'
export { checkKey, type DeadLetterOps, type DeadLetterOutcome, deadLetterOps } from './dead-letters.ts'
export { type RunningSystem, type StartSystemOptions, startSystem } from './start-system.ts'
export {
  type ControlState,
  readControlState,
  removeControlState,
  stateFilePath,
  writeControlState,
} from './state-file.ts'
