// An input of the wrong type, or missing a field, is a compile error.
import type { UsersService } from '../../fixtures/shop.ts'
import { createBroker } from '../../../src/broker/index.ts'

const users = createBroker().client<UsersService>('users')
// @expect-error TS2322 (number is not assignable to string)
await users.get({ id: 1 })
// @expect-error TS2345 (property id is missing)
await users.get({})
