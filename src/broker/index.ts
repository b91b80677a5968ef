export { type Broker, type BrokerOptions, createBroker } from './broker.ts'
export { CallContext } from './call-context.ts'
