export { jetStreamUnready, whenJetStreamReady } from './jetstream-ready.ts'
export { natsTransport } from './nats-transport.ts'
export { createNatsUserKey, type NatsUserKey, natsUserPublicKey } from './nkeys.ts'
export type { NatsCredentials, NatsTransportOptions } from './options.ts'
export {
  type NatsPermissions,
  type NatsServerUser,
  natsAuthorizationBlock,
  natsPermissions,
} from './permissions.ts'
export { CLUSTER_REPLICAS, withReplicas } from './stream-replicas.ts'
export { NO_UNIT, natsSubjects, nodeIdOf, nodeToken, type Subjects } from './subjects.ts'
