export { pipeline } from './pipeline.ts'
export type { Call, Endpoint, Middleware, Next } from './types.ts'
