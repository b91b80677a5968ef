/**
 * Whether the reference services make their events durable when not told: when they run
 * under the runtime (`TESSERA_INSTANCE` is set), whose transports both keep durable events
 * (NATS with JetStream, the socket transport with the supervisor's event store), or on
 * NATS (`TESSERA_TRANSPORT=nats`). A service built by hand on a transport without a store
 * (the in-process test kit) stays at most once, where a durable emit would be refused.
 */
export function durableByDefault(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.TESSERA_TRANSPORT === 'nats' || env.TESSERA_INSTANCE !== undefined
}
