export { type FakeBehaviour, FakeInstance, fakeLauncher } from './fake-launcher.ts'
