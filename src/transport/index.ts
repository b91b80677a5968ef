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
export type { Transport, TransportHandlers } from './transport.ts'
