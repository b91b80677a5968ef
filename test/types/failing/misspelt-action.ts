// A misspelt action name is a compile error at the call site.
import type { UsersService } from '../../fixtures/shop.ts'
import { createBroker } from '../../../src/broker/index.ts'

const broker = createBroker()
// @expect-error TS2551 (Property 'gett' does not exist … Did you mean 'get'?)
await broker.client<UsersService>('users').gett({ id: '1' })
