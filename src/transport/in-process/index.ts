export { InProcessHub, inProcessTransport } from './in-process-transport.ts'
