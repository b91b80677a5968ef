/**
 * The wire vocabulary: what nodes announce about themselves (`NodeInfo`) and the
 * messages brokers exchange (`Message`). Plain data types, no behaviour, so the codec,
 * every transport and the registry share one definition without importing each other.
 */
export type {
  ActionInfo,
  CancelMessage,
  EventMessage,
  Message,
  NodeInfo,
  RequestMessage,
  ResponseMessage,
  ServiceInfo,
  WireContext,
} from './messages.ts'
