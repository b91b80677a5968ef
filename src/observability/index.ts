export { combineInstrumentation } from './combine-instrumentation.ts'
export type { BreakerState, Instrumentation, Outcome, SpanIds } from './instrumentation.ts'
export { type Logger, silentLogger } from './logger.ts'
