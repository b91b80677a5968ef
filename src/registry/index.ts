export {
  type Balancer,
  excludeTried,
  excludeUnavailable,
  leastOutstanding,
  preferLocal,
  roundRobin,
} from './balancer.ts'
export { type EventGroup, Registry, type RegistryChange } from './registry.ts'
