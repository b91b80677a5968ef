import { type Broker, type BrokerOptions, createBroker } from '../broker/index.ts'
import type { AnyService, ServiceClient } from '../contract/index.ts'
import { InProcessHub, inProcessTransport } from '../transport/in-process/index.ts'
import { type Fault, FaultTable, withFaults } from './faults.ts'

export interface TestSystemOptions {
  services: AnyService[]
  /**
   * `per-service` (default): each service on its own broker, joined by an in-process
   * hub, so calls cross a transport as in production. `one-node`: all in one broker.
   */
  topology?: 'per-service' | 'one-node'
  /** Options for every broker (policy defaults, balancer, clock…). */
  broker?: Omit<BrokerOptions, 'services' | 'transport' | 'nodeId'>
}

export interface TestSystem extends AsyncDisposable {
  /** The broker tests call from (hosts no service). */
  readonly caller: Broker
  readonly brokers: ReadonlyMap<string, Broker>
  client<S extends AnyService>(name: S['name']): ServiceClient<S>
  /** Arms a fault on `service.action` for the next `times` calls (all, by default). */
  inject(target: string, fault: Fault, times?: number): void
  clearFaults(target?: string): void
  /** Stops the broker hosting `service` abruptly: peers see it leave as if it crashed. */
  crash(service: string): void
  stop(): Promise<void>
}

/**
 * Starts a set of services for a test; faults can be injected into any action.
 * Use with `await using` so every broker stops when the test ends.
 *
 * @example
 * await using system = await startTestSystem({ services: [orders, fakeService<UsersService>('users', {...})] })
 * system.inject('users.get', { kind: 'error', code: 'UNAVAILABLE' }, 1)
 * await system.client<OrdersService>('orders').place({ userId: '1' })
 */
export async function startTestSystem(options: TestSystemOptions): Promise<TestSystem> {
  const faults = new FaultTable()
  const hub = new InProcessHub()
  const services = options.services.map((s) => withFaults(s, faults))
  const brokers = new Map<string, Broker>()
  const make = (nodeId: string, hosted: AnyService[]) =>
    createBroker({ ...options.broker, nodeId, services: hosted, transport: inProcessTransport(hub) })

  if (options.topology === 'one-node') {
    const node = make('node-all', services)
    for (const s of services) brokers.set(s.name, node)
  } else {
    for (const s of services) brokers.set(s.name, make(`node-${s.name}`, [s]))
  }
  const caller = make('node-caller', [])
  const all = [...new Set(brokers.values()), caller]
  for (const b of all) await b.start()
  await caller.waitFor(services.map((s) => s.name))

  const system: TestSystem = {
    caller,
    brokers,
    client: (name) => caller.client(name),
    inject: (target, fault, times) => faults.inject(target, fault, times),
    clearFaults: (target) => faults.clear(target),
    crash(service) {
      const broker = brokers.get(service)
      if (broker) hub.leave(broker.nodeId, 'crashed')
    },
    async stop() {
      await Promise.all(all.map((b) => b.stop()))
    },
    [Symbol.asyncDispose]: () => system.stop(),
  }
  return system
}
