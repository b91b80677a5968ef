export { type Clock, systemClock } from './clock.ts'
export { deadlineFromRemaining, nestedDeadline, remainingMs } from './deadline.ts'
export type { Principal } from './principal.ts'
export {
  childSpan,
  formatTraceparent,
  newSpanId,
  newTrace,
  newTraceId,
  parseTraceparent,
  type TraceContext,
} from './trace.ts'
