export {
  type Balancer,
  excludeTried,
  excludeUnavailable,
  leastOutstanding,
  preferLocal,
  roundRobin,
} from './balancer.ts'
export {
  type EventGroup,
  type ReadonlyRegistry,
  Registry,
  type RegistryChange,
  readonlyView,
} from './registry.ts'
