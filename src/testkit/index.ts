export { type FakeHandlers, type FakeOptions, fakeService } from './fake-service.ts'
export { type Fault, FaultTable, withFaults } from './faults.ts'
export { startTestSystem, type TestSystem, type TestSystemOptions } from './test-system.ts'
