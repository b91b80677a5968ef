// The service name must be the one its definition declares.
import type { UsersService } from '../../fixtures/shop.ts'
import { createBroker } from '../../../src/broker/index.ts'

// @expect-error TS2345 ("userz" is not assignable to "users")
await createBroker().client<UsersService>('userz').get({ id: '1' })
