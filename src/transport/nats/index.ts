export { natsTransport } from './nats-transport.ts'
export type { NatsCredentials, NatsTransportOptions } from './options.ts'
export { natsSubjects, nodeIdOf, nodeToken, type Subjects } from './subjects.ts'
