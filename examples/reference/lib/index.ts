export {
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
  createCircuitBreaker,
} from './circuit-breaker.ts'
export { openDatabase, type ServiceDatabase } from './database.ts'
export { type DatabaseConfig, databaseConfigFromEnv, schemaName } from './database-config.ts'
export { hasRole, requirePrincipal } from './principal.ts'
export * as schemas from './schemas.ts'
export { type DatabaseSlot, databaseSlot } from './service-database.ts'
export { type CacheHit, TtlCache, type TtlCacheOptions } from './ttl-cache.ts'
