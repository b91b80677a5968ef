export { type EventGroup, Registry, type RegistryChange } from './registry.ts'
