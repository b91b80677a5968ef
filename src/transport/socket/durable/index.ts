export { createEventStore, type EventStore, type EventStoreOptions } from './event-store.ts'
export { type StoreClientOptions, type StoreEvents, storeClient } from './store-client.ts'
