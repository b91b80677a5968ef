export { createEventStore, type EventStore, type EventStoreOptions } from './durable/index.ts'
export type { SocketTransportOptions } from './options.ts'
export { type SocketTransport, socketTransport } from './socket-transport.ts'
