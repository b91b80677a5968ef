// The wire vocabulary lives in `src/wire/`; re-exported so `tessera/transport` keeps its surface.
export type * from '../wire/index.ts'
export type {
  DeadEvent,
  DurableConsumer,
  DurableConsumerSpec,
  DurableEnvelope,
  DurableEvents,
} from './durable.ts'
export { deadKey } from './durable.ts'
export type { Transport, TransportHandlers } from './transport.ts'
