export type { SocketTransportOptions } from './options.ts'
export { type SocketTransport, socketTransport } from './socket-transport.ts'
