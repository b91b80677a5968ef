export { serveTraces } from './trace-routes.ts'
export { type TraceQuery, TraceStore, type TraceSummary } from './trace-store.ts'
